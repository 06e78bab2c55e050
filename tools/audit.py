"""`make audit`: the pinned Python dependencies against the package index's known vulnerabilities.

    python -m tools.audit [--strict] [requirements files...]

pip-audit resolves requirements.txt, constraints.txt (their closure, pinned) and
requirements-dev.txt (so its dependencies too) and asks the package index's vulnerability service
about every resolved version. Fails (exit 1) when one has
a known vulnerability with a fixed version to move to; one with no fix yet is listed, not failed.
A package the service could not answer for is reported as not audited, loudly; with --strict
(`make audit STRICT=1`) that fails too, for machines that reach the service.
"""

import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tools.paths import ROOT

REQUIREMENTS = ("requirements.txt", "constraints.txt", "requirements-dev.txt")
log = logging.getLogger("audit")


def findings(report: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(fixable, unfixed, not audited) as lines: package, version, advisory, the fixed versions."""
    fixable: list[str] = []
    unfixed: list[str] = []
    skipped: list[str] = []
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            skipped.append(f"{dep['name']}: {dep['skip_reason']}")
        for vuln in dep.get("vulns", []):
            fixes = vuln.get("fix_versions") or []
            line = f"{dep['name']}=={dep['version']}  {vuln['id']}"
            if fixes:
                fixable.append(f"{line}  fixed in {', '.join(fixes)}")
            else:
                unfixed.append(f"{line}  no fixed version yet")
    return fixable, unfixed, skipped


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    strict = "--strict" in argv
    files = [a for a in argv if a != "--strict"] or [str(ROOT / name) for name in REQUIREMENTS]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "--progress-spinner", "off"]
        command += [arg for f in files for arg in ("-r", f)] + ["-f", "json", "-o", str(out)]
        # pip-audit exits 1 on any finding; the report decides here, so only a missing one fails.
        # Its own summary counts skipped packages as clean, so only its errors are shown.
        run = subprocess.run(command, check=False, capture_output=True, text=True)
        if not out.exists():
            log.error("pip-audit produced no report:\n%s", run.stderr)
            return 2
        report = json.loads(out.read_text())
    fixable, unfixed, skipped = findings(report)
    total = len(report["dependencies"])
    log.info("%d resolved packages from %s", total, ", ".join(files))
    if skipped:
        log.warning(
            "NOT AUDITED: %d of %d packages; the vulnerability service did not answer for them "
            "(first: %s)",
            len(skipped),
            total,
            skipped[0],
        )
    for line in unfixed:
        log.warning("known, not fixable yet: %s", line)
    for line in fixable:
        log.error("VULNERABLE, bump the pin: %s", line)
    if not fixable:
        log.info(
            "no known vulnerability with a fix available in the %d audited", total - len(skipped)
        )
    return 1 if fixable or (strict and skipped) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
