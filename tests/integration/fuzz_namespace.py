"""Schemathesis against the whole stack, run inside a network namespace with only loopback.

    unshare --net -- python -m tests.integration.fuzz_namespace WORKDIR [--keys]

Brings loopback up, starts the stack (placement, scheduler, Redis, daprd, the app) in WORKDIR,
and runs Schemathesis' command line on the app's OpenAPI document: every check, every phase
(examples, coverage, fuzzing and the stateful phase that follows the API's links). A monitor the
fuzzer aims anywhere, or a DNS lookup, finds no route off the machine. Exit status: Schemathesis'.
"""

import argparse
import subprocess
import sys
from pathlib import Path

from tests.integration.stacks import TEST_ENV
from tools.stack import Stack

KEY = "fuzz-key-0123456789"
# Checked by Schemathesis and excluded here, each with the reason:
EXCLUDED = {
    # /start-workflow's `input` is any object in the schema and is held to the chosen workflow's
    # model, so schema-valid bodies are rightly refused there (422); /workflows/{name} carries
    # each workflow's exact model and is held to this check.
    "positive_data_acceptance": "input checked against the chosen workflow's model",
    # POST /workflows/{x} is the typed start of the workflow named x, documented per workflow;
    # for a name that is no workflow (such as an instance id) it answers 422 naming the
    # workflows there are, where this check wants 405.
    "unsupported_method": "POST /workflows/{name} starts a workflow; unknown names are a 422",
    # The same shared shape: OPTIONS /workflows/{x} answers 405 with `Allow: DELETE, POST`, both
    # true of that path, where the schema's template /workflows/{instance_id} lists DELETE.
    "allow_header_conformance": "Allow lists POST (a workflow's start) beside DELETE",
}
CONFIG = Path(__file__).with_name("schemathesis.toml")
LONG_POLL = 30  # GET /status?wait= may rightly answer after this many seconds
EXAMPLES = 15


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--keys", action="store_true", help="run the service with API keys on")
    args = parser.parse_args()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    env = {**TEST_ENV, "APP_MONITOR_ALLOW_PRIVATE": "true"}
    if args.keys:
        env["APP_API_KEYS"] = f"fuzzer:{KEY}"
    with Stack(args.workdir, store="redis", app_env=env) as stack:
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            f"{stack.replicas[0].url}/openapi.json",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(EXCLUDED),
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(EXAMPLES),
            "--request-timeout",
            str(LONG_POLL + 10),
            "--max-response-time",
            str(LONG_POLL + 5),
            "--suppress-health-check",
            "all",
            "--generation-deterministic",
            "--no-color",
        ]
        if args.keys:
            command += ["--header", f"X-API-Key: {KEY}"]
        return subprocess.run(command, check=False, cwd=args.workdir).returncode


if __name__ == "__main__":
    sys.exit(main())
