"""The README's curl walk-through (and docs/api.md's), run against the real stack: its documented
outputs hold.

The blocks marked ``<!-- readme-test -->`` run side by side (each waits on its own workflows);
see tests/integration/readme.py for what is checked.
"""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from tests.integration.readme import Step, Walkthrough, blocks
from tools.paths import ROOT
from tools.stack import Stack


def test_readme_walkthrough_answers_as_documented(stack: Stack) -> None:
    marked = blocks((ROOT / "README.md").read_text()) + blocks((ROOT / "docs/api.md").read_text())
    assert len(marked) >= 7, "the README's curl blocks are no longer marked for this test"
    address = urlsplit(stack.replicas[0].url).netloc.replace("127.0.0.1", "localhost")

    def walk(block: list[Step]) -> None:
        Walkthrough(address).run(block)

    with ThreadPoolExecutor(len(marked)) as pool:
        for done in [pool.submit(walk, block) for block in marked]:
            done.result()
