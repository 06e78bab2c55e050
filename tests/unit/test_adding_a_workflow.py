"""docs/adding-a-workflow.md, followed as written: its module, copied into a copy of app/, and its
name in MODULES, and nothing else, give a workflow the worker registers, the API starts and
the dashboard offers."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tools.paths import ROOT

DOC = ROOT / "docs" / "adding-a-workflow.md"
CHECK = """
import dapr.ext.workflow as wf
from app import runtime
from app.config import Settings
from app.sidecar import sdk
from tests.unit.fakes import FakeClient, client_for

assert "greeting" in runtime.workflows(Settings())
assert "compose_greeting" in runtime.activities(Settings())
registry = sdk.registry_of(runtime.build_runtime(Settings()))
assert sdk.registers(registry, "greeting")
fake = FakeClient()
with client_for(fake) as http:
    answer = http.post("/workflows/greeting", json={"name": "Ada"})
    assert answer.status_code == 202, answer.text
    refused = http.post("/start-workflow", json={"workflow": "greeting", "input": {"name": ""}})
    assert refused.status_code == 422, refused.text
    assert "/workflows/greeting" in http.get("/openapi.json").json()["paths"]
    assert 'value="greeting"' in http.get("/start").text
assert fake.started[0][:2] == ("greeting", {"name": "Ada"})
print("greeting: registered, started, offered")
"""


def test_the_doc_adds_a_workflow_with_one_module_and_one_name(tmp_path: Path) -> None:
    text = DOC.read_text()
    [module] = re.findall(r"<!-- new-workflow -->\n```python\n(.*?)```", text, re.S)
    [listed] = re.findall(r"^MODULES = \(.*\)$", text, re.M)
    copy = tmp_path / "app"
    shutil.copytree(ROOT / "app", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "workflows" / "greeting.py").write_text(module)
    runtime = copy / "runtime.py"
    [current] = re.findall(r"^MODULES = \(.*\)$", runtime.read_text(), re.M)
    runtime.write_text(runtime.read_text().replace(current, listed))
    run = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-4000:]
    assert "greeting: registered, started, offered" in run.stdout
