"""Render components/ for a local stack: the same Dapr resources, with local hosts and paths.

One component file per store; the stack names the store and the metadata that differs locally
(a host, a file, a connection string). The Configuration's workflow state retention can be
changed per stack (`make run RETAIN=completed=1h`).
"""

from pathlib import Path
from typing import Any

import yaml

from tools.paths import ROOT

COMPONENTS = {
    "sqlite": "local/statestore-sqlite.yaml",
    "redis": "statestore.yaml",
    "postgres": "postgres/statestore.yaml",
}
TERMINAL = ("anyTerminal", "completed", "failed", "terminated")


def write_resources(
    workdir: Path,
    *,
    store: str,
    metadata: dict[str, str],
    otlp_endpoint: str | None,
    retention: dict[str, str] | None = None,
    workflow: dict[str, int] | None = None,
) -> None:
    """<workdir>/resources/statestore.yaml and <workdir>/config.yaml for daprd; `workflow` adds
    settings to the configuration's workflow section (Dapr's concurrency limits)."""
    resources = workdir / "resources"
    resources.mkdir(parents=True, exist_ok=True)
    component = _load(COMPONENTS[store])
    for name, value in metadata.items():
        _set_meta(component, name, value)
    (resources / "statestore.yaml").write_text(yaml.safe_dump(component, sort_keys=False))
    config = _load("config.yaml")
    tracing = config["spec"]["tracing"]
    if otlp_endpoint:
        tracing["otel"]["endpointAddress"] = otlp_endpoint
    else:
        tracing["samplingRate"] = "0"  # no collector here: trace nothing rather than fail
    policy = config["spec"]["workflow"]["stateRetentionPolicy"]
    overrides = retention_policy(retention or {})
    if "anyTerminal" in overrides:
        policy.clear()  # a state's own setting wins over anyTerminal: keep only those given
    policy.update(overrides)
    config["spec"]["workflow"].update(workflow or {})
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def retention_policy(overrides: dict[str, str]) -> dict[str, str]:
    """Checked overrides of the retention policy: {"completed": "1h"}."""
    unknown = set(overrides) - set(TERMINAL)
    if unknown:
        raise ValueError(f"retention is set per {', '.join(TERMINAL)}, not {sorted(unknown)}")
    return overrides


def parse_retention(text: str) -> dict[str, str]:
    """'completed=1h,failed=72h' -> {"completed": "1h", "failed": "72h"}."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"retention is STATE=DURATION[,...], e.g. completed=1h: {text!r}")
    return retention_policy({state.strip(): duration.strip() for state, duration in pairs})


def _load(relative: str) -> Any:
    return yaml.safe_load((ROOT / "components" / relative).read_text())


def _set_meta(component: dict[str, Any], name: str, value: str) -> None:
    """Set a metadata item's value; a secret reference becomes the value itself."""
    for item in component["spec"]["metadata"]:
        if item["name"] == name:
            item.pop("secretKeyRef", None)
            item["value"] = value
            return
    raise KeyError(name)
