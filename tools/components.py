"""Render components/ for a local stack: the same Dapr resources, with local hosts and paths."""

from pathlib import Path
from typing import Any

import yaml

from tools.paths import ROOT


def write_resources(
    workdir: Path, *, store: str, redis_address: str, otlp_endpoint: str | None
) -> None:
    """<workdir>/resources/statestore.yaml and <workdir>/config.yaml for daprd."""
    resources = workdir / "resources"
    resources.mkdir(parents=True, exist_ok=True)
    (workdir / "data" / "redis").mkdir(parents=True, exist_ok=True)
    if store == "redis":
        component = _load("statestore.yaml")
        _set_meta(component, "redisHost", redis_address)
    else:
        component = _load("local/statestore-sqlite.yaml")
        _set_meta(component, "connectionString", str(workdir / "data" / "state.db"))
    (resources / "statestore.yaml").write_text(yaml.safe_dump(component, sort_keys=False))
    config = _load("config.yaml")
    tracing = config["spec"]["tracing"]
    if otlp_endpoint:
        tracing["otel"]["endpointAddress"] = otlp_endpoint
    else:
        tracing["samplingRate"] = "0"  # no collector here: trace nothing rather than fail
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _load(relative: str) -> Any:
    return yaml.safe_load((ROOT / "components" / relative).read_text())


def _set_meta(component: dict[str, Any], name: str, value: str) -> None:
    for item in component["spec"]["metadata"]:
        if item["name"] == name:
            item["value"] = value
            return
    raise KeyError(name)
