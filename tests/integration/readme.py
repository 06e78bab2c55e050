"""Run the README's curl walk-through against a service and check the outputs it documents.

A fenced ``bash`` block that follows the line ``<!-- readme-test -->`` is run command by command,
with ``localhost:8000`` pointed at the service under test. The ``#`` comments after a command (on
its line or below it) are what the README says it answers, and are checked:

- ``# HTTP/1.1 202 Accepted   location: /x   retry-after: 1``: the status line and the headers of a
  ``curl -i``, each ``name: value`` set apart by two or more spaces;
- ``# "key": value, ...`` or ``# {...}``: a JSON fragment the response body must contain;
- ``# output<words>: {...}`` and ``# custom_status<words>: {...}``: a fragment the output (once
  finished) or the custom status (while running) of the block's last started instance must contain.

In a fragment ``...`` stands for anything: a value, the rest of an object or list, part of a string.
A comment line that starts with spaces, or follows one ending in a comma, continues the one above.
Reads are retried until they match, as a person would look again; other commands run once.
"""

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

MARKER = "<!-- readme-test -->"
DOCUMENTED_ADDRESS = "localhost:8000"
ANY, REST = "\x00any", "\x00rest"
INSTANCE_CHECK = re.compile(r"^(output|custom_status)\b[^:{\"]*:\s*(.+)$", re.S)


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)

    @property
    def is_read(self) -> bool:
        return not re.search(r"\s(-X|-d|--data)\b", self.command)


def blocks(markdown: str) -> list[list[Step]]:
    """The marked blocks, each as its commands with their documented outputs."""
    found = re.findall(rf"{re.escape(MARKER)}\n```bash\n(.*?)\n```", markdown, re.S)
    return [steps(block) for block in found]


def steps(block: str) -> list[Step]:
    result: list[Step] = []
    command: list[str] = []
    for line in block.splitlines():
        if command:  # a command that goes on: a trailing backslash or an open quote
            command.append(line)
        elif line.startswith("curl "):
            command = [line]
        elif line.startswith("#") and result:
            _comment(result[-1], line[1:].removeprefix(" "))
            continue
        elif line.strip():
            raise ValueError(f"not a command or a documented output: {line!r}")
        else:
            continue
        if not command[-1].endswith("\\") and "".join(command).count("'") % 2 == 0:
            text, _, inline = "\n".join(command).partition("  # ")
            result.append(Step(text.rstrip()))
            if inline:
                _comment(result[-1], inline.strip())
            command = []
    return result


def _comment(step: Step, text: str) -> None:
    if step.expected and (text.startswith(" ") or step.expected[-1].endswith(",")):
        step.expected[-1] += " " + text.strip()
    else:
        step.expected.append(text.strip())


def fragment(text: str) -> Any:
    """A documented JSON fragment, ``...`` made into wildcards."""
    text = text.strip().rstrip(",")
    if text.startswith('"'):
        text = "{" + text + "}"
    any_, rest = json.dumps(ANY), json.dumps(REST)
    text = re.sub(r"\{\s*\.\.\.\s*\}|\[\s*\.\.\.\s*\]", lambda _: any_, text)
    text = re.sub(r",\s*\.\.\.\s*\}", lambda _: "}", text)
    text = re.sub(r",\s*\.\.\.\s*\]", lambda _: f", {rest}]", text)
    text = re.sub(r":\s*\.\.\.(?=\s*[,}])", lambda _: f": {any_}", text)
    return json.loads(text)


def matches(expected: Any, actual: Any) -> bool:
    if expected == ANY:
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        if expected and expected[-1] == REST:
            expected, actual = expected[:-1], actual[: len(expected) - 1]
        return len(expected) == len(actual) and all(map(matches, expected, actual))
    if isinstance(expected, str) and "..." in expected:
        pattern = ".*".join(re.escape(part) for part in expected.split("..."))
        return isinstance(actual, str) and re.fullmatch(pattern, actual, re.S) is not None
    return bool(expected == actual)


class Walkthrough:
    """One block's run: its commands in order, against the service at ``address``."""

    def __init__(self, address: str, timeout: float = 90.0) -> None:
        self.address, self.timeout = address, timeout
        self.instance_id: str | None = None

    def run(self, block: list[Step]) -> None:
        for step in block:
            self._step(step)

    def _step(self, step: Step) -> None:
        command = step.command.replace(DOCUMENTED_ADDRESS, self.address)
        head_or_body = [e for e in step.expected if not INSTANCE_CHECK.match(e)]
        deadline = time.monotonic() + self.timeout
        while True:
            head, body = _curl(command)
            failures = [f for e in head_or_body if (f := _check(e, head, body))]
            if not step.expected and isinstance(body, dict) and "error" in body:
                failures.append(f"an error answer: {body}")
            if not failures or not step.is_read or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert not failures, f"{step.command}\n  " + "\n  ".join(failures)
        if isinstance(body, dict) and "instance_id" in body:
            self.instance_id = str(body["instance_id"])
        for expectation in step.expected:
            if found := INSTANCE_CHECK.match(expectation):
                self._instance(found.group(1), fragment(found.group(2)), step.command)

    def _instance(self, what: str, expected: Any, command: str) -> None:
        assert self.instance_id, f"{command}: no instance started before this check"
        url = f"http://{self.address}/status/{self.instance_id}"
        deadline, state = time.monotonic() + self.timeout, {}
        params = {"wait": 10} if what == "output" else {}
        while time.monotonic() < deadline:
            state = httpx.get(url, params=params, timeout=30).json()
            finished = state.get("runtime_status") in ("COMPLETED", "FAILED", "TERMINATED")
            if (what == "output") == finished and matches(expected, state.get(what)):
                return
            if what == "output" and finished:
                break
            time.sleep(0.5)
        raise AssertionError(f"{command}\n  {what} is not as documented: {state.get(what)}")


def _curl(command: str) -> tuple[str, Any]:
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{command}\n  exit {done.returncode}: {done.stderr}"
    # Text mode has turned curl -i's CRLFs into newlines: a blank line ends the head.
    out = done.stdout
    head, _, body = out.partition("\n\n") if out.startswith("HTTP/") else ("", "", out)
    try:
        return head, json.loads(body) if body.strip() else None
    except ValueError:
        return head, body


def _check(expected: str, head: str, body: Any) -> str | None:
    if expected.startswith("HTTP/"):
        status, *headers = re.split(r"\s{2,}", expected)
        lines = head.splitlines()
        got = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        if not lines or not lines[0].startswith(status):
            return f"status {lines[0] if lines else '(none)'!r}, documented {status!r}"
        for header in headers:
            name, _, value = header.partition(":")
            if got.get(name.strip().lower()) != value.strip():
                return f"header {name}: {got.get(name.strip().lower())!r}, documented {value!r}"
        return None
    if not matches(fragment(expected), body):
        return f"answer {body!r}\n  documented {expected}"
    return None
