"""`python -m tools.cluster up|down|env|build|status`: see tools/cluster/cli.py."""

from tools.cluster.cli import main

raise SystemExit(main())
