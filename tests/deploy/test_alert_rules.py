"""The alert rules that ship with the service (k8s/prometheus/alerts.yaml): valid, each tested by
promtool against the cases in alerts.test.yaml, and written on metrics the app exports."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import app.metrics  # noqa: F401  (registers the app's series)
from tools import promtool
from tools.paths import ROOT

RULES = ROOT / "k8s" / "prometheus"
# a series name: followed by a selector or a range, not by "(" (a function) or "by"/"on"
SERIES = re.compile(r"\b([a-z_][a-z0-9_]*)\s*(?=[{\[])")


def tool() -> Path:
    found = promtool.find()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(promtool.NEEDED.format(binary="promtool") + "; make promtool unpacks it")
        pytest.skip(promtool.NEEDED.format(binary="promtool"))
    return found


def rules() -> list[dict[str, object]]:
    groups = yaml.safe_load((RULES / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def promtool_says(*args: str) -> None:
    run = subprocess.run([str(tool()), *args], cwd=RULES, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_rules_are_valid() -> None:
    promtool_says("check", "rules", "alerts.yaml")


def test_the_configuration_is_valid_and_loads_the_rules() -> None:
    promtool_says("check", "config", "prometheus.yml")


def test_each_rule_fires_when_it_should_and_only_then() -> None:
    promtool_says("test", "rules", "alerts.test.yaml")


def test_every_rule_has_cases() -> None:
    cases = yaml.safe_load((RULES / "alerts.test.yaml").read_text())["tests"]
    tested = {c["alertname"] for case in cases for c in case.get("alert_rule_test", [])}
    assert {rule["alert"] for rule in rules()} <= tested


def test_the_rules_read_only_series_the_app_exports() -> None:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    exported = {
        metric.name + suffix
        for metric in REGISTRY.collect()
        for suffix in suffixes.get(metric.type, ())
    }
    used = {name for rule in rules() for name in SERIES.findall(str(rule["expr"]))}
    assert used, "no series found in the rules"
    assert used <= exported, used - exported
