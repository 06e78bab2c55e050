"""The service as `tilt up` deploys it on a real cluster: the README's walk-through, a fan-out,
Swagger's JSON and a trace in Jaeger through Tilt's port forwards; the deploy defaults on the
running pods; then faults: the app pod deleted mid-workflow, a pod made while the sidecar
injector is away, two replicas, Redis restarted.

The tests run in file order, on one deployment (the module's `tilt` fixture).
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.e2e.calls import (
    approve,
    completed_and_waiting,
    finished,
    kept_across_a_store_restart,
    order,
    running,
    start,
    task,
    uid,
)
from tests.e2e.conftest import (
    APP_URL,
    JAEGER_URL,
    PROMETHEUS_URL,
    TIMINGS,
    Tilt,
    kubectl,
    note,
    tilt_down_leaves_nothing,
    timed,
    wait_until,
)
from tools.paths import ROOT

pytestmark = pytest.mark.e2e
APP = "app.kubernetes.io/name=workflow-service"
REDIS = "app.kubernetes.io/name=redis"


def app_ready(timeout: float = 300) -> None:
    kubectl("rollout", "status", "deployment/workflow-service", f"--timeout={timeout:.0f}s",
            timeout=timeout + 10)
    wait_until("the service through Tilt's forward", _answers, timeout)


def _answers() -> bool:
    try:
        return httpx.get(f"{APP_URL}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_tilt_ci_brings_up_everything_with_the_unmodified_tiltfile(tilt: Tilt) -> None:
    pods = json.loads(kubectl("get", "pods", "-A", "-o", "json"))["items"]
    ready = {p["metadata"]["labels"].get("app") or  # Dapr's pods; ours have no `app` label
             p["metadata"]["labels"].get("app.kubernetes.io/name") for p in pods
             if all(c["ready"] for c in p["status"].get("containerStatuses", []))}
    assert {"workflow-service", "redis", "jaeger", "dapr-operator", "dapr-sentry",
            "dapr-placement-server", "dapr-scheduler-server", "dapr-sidecar-injector"} <= ready
    app = next(p for p in pods if p["metadata"]["labels"].get("app.kubernetes.io/name")
               == "workflow-service")
    assert "daprd" in [c["name"] for c in app["spec"]["containers"]]


def test_readme_walk_through_approve_reject_terminate(api: httpx.Client) -> None:
    with timed("check: README walk-through (approve, reject, terminate a monitor)"):
        approved, rejected, monitor = uid("order"), uid("order"), uid("site-check")
        response = api.post("/start-workflow", json={
            "workflow": "purchase_approval", "instance_id": approved, "input": order(approved)})
        assert response.status_code == 202 and response.headers["location"].endswith(approved)
        start(api, "purchase_approval", order(rejected), rejected)
        running(api, approved)
        approve(api, approved, True, "Jane Doe")
        approve(api, rejected, False, "Bob")
        out = finished(api, approved)
        assert out["runtime_status"] == "COMPLETED"
        assert out["output"]["status"] == "approved" and out["output"]["approved_by"] == "Jane Doe"
        assert finished(api, rejected)["output"]["status"] == "rejected"
        # A name, not an address: whatever the monitor may check, it starts and is terminated.
        start(api, "monitor", {"job_id": "site", "url": "http://workflow-service:8000/healthz",
                               "healthy_interval_seconds": 5}, monitor)
        running(api, monitor)
        response = api.post(f"/workflows/{monitor}/terminate", json={"reason": "maintenance over"})
        assert response.status_code == 202
        assert finished(api, monitor)["runtime_status"] == "TERMINATED"


def test_fan_out_of_twenty(api: httpx.Client) -> None:
    with timed("check: fan-out of 20 items"):
        instance = uid("fan")
        ids = [f"{instance}-{n}" for n in range(19)] + [f"fail-{instance}"]
        start(api, "fan_out_fan_in", {"task_ids": ids, "work_seconds": 0.5}, instance)
        out = finished(api, instance)["output"]
        assert (out["processed_count"], out["succeeded"], out["failed"]) == (20, 19, 1)


def test_swagger_ui_and_its_openapi_json(api: httpx.Client) -> None:
    assert api.get("/docs").status_code == 200
    spec = api.get("/openapi.json").json()
    assert "/workflows/{name}" in spec["paths"] or "/start-workflow" in spec["paths"]


def test_live_update_syncs_a_saved_file_and_uvicorn_reloads(tilt: Tilt) -> None:
    log = tilt.up_log
    # The live copy only: a change synced to the staged one must reload nothing until checked.
    started = kubectl("logs", "deployment/workflow-service", "-c", "app")
    assert "Will watch for changes in these directories: ['/srv/app']" in started
    before = log.read_text(errors="replace").count("Reloading...")
    saved = time.monotonic()
    (ROOT / "app" / "__init__.py").touch()  # a save, content unchanged
    wait_until("uvicorn to reload the synced file",
               lambda: log.read_text(errors="replace").count("Reloading...") > before, 60,
               log=log, interval=0.2)
    reloaded = time.monotonic() - saved
    TIMINGS.append(("live_update: from save to uvicorn's reload", reloaded))
    app_ready()


REQUEST = "    yield ctx.call_activity(request_approval, input=order, retry_policy=OUTSIDE_RETRY)"
PLACE_FIRST = "    yield ctx.call_activity(place_order, input=order, retry_policy=OUTSIDE_RETRY)\n"


def test_live_update_refuses_a_breaking_change_and_applies_a_safe_one(
    tilt: Tilt, api: httpx.Client
) -> None:
    """A change the waiting approval's history cannot replay never reaches the pod, and Tilt's
    log names the instance; a replay-safe one reloads; the approval then completes."""
    waiting = uid("order")
    start(api, "purchase_approval", order(waiting), waiting)
    running(api, waiting)
    source = ROOT / "app" / "workflows" / "purchase_approval.py"
    original = source.read_text()
    assert REQUEST in original
    log = tilt.up_log

    def count(text: str) -> int:
        return log.read_text(errors="replace").count(text)

    named = f"WOULD BREAK {waiting} (purchase_approval)"
    # ("live_update refused" alone is also in the echo of every check's command line.)
    refused = "the change would break the instances above\n"
    before, reloads_before = count(refused), count("Reloading...")
    try:
        with timed("live_update: a breaking change refused"):
            source.write_text(original.replace(REQUEST, PLACE_FIRST + REQUEST, 1))
            wait_until("the breaking change refused", lambda: count(refused) > before, 120,
                       log=log, interval=0.5)
        assert named in log.read_text(errors="replace")
        time.sleep(2)  # a reload would follow the sync within this
        reloads = count("Reloading...")
        assert reloads == reloads_before, "the refused change reloaded the running code:\n" + (
            "\n".join(line for line in log.read_text(errors="replace").splitlines()
                      if "Reloading..." in line or "live_update" in line or "WOULD" in line))
        saved = time.monotonic()
        source.write_text(original + "# replay-safe: a comment\n")  # applied: reloads
        wait_until("the safe change reloaded", lambda: count("Reloading...") > reloads, 120,
                   log=log, interval=0.2)
        TIMINGS.append(("live_update: a replay-safe change, from save to reload",
                        time.monotonic() - saved))
        reloads = count("Reloading...")
        source.write_text(original)  # safe too: back as it was
        wait_until("the file restored and reloaded", lambda: count("Reloading...") > reloads,
                   120, log=log, interval=0.2)
    finally:
        if source.read_text() != original:
            source.write_text(original)
    seen = [count("Reloading...")]  # no reload left under way before the next test

    def quiet() -> bool:
        time.sleep(3)
        seen.append(count("Reloading..."))
        return seen[-1] == seen[-2]

    wait_until("no further reload", quiet, 30, interval=0)
    app_ready()
    approve(api, waiting, True, "Jane Doe")
    out = finished(api, waiting)
    assert (out["runtime_status"], out["output"]["status"]) == ("COMPLETED", "approved")
    history = api.get(f"/workflows/{waiting}/history").json()["events"]
    scheduled = [e["name"] for e in history if e["kind"] == "taskScheduled"]
    # Its old path: without the place_order the refused change put first.
    assert scheduled == ["check_budget", "request_approval", "place_order"], scheduled
    note(f"live_update guard: a breaking change refused naming {waiting}; a safe one applied")


def test_jaeger_holds_one_workflow_trace_with_app_and_sidecar_spans(api: httpx.Client) -> None:
    with timed("check: Jaeger trace of one workflow"):
        instance = uid("traced")
        since = int(time.time() * 1_000_000)
        response = api.post("/start-workflow", json={
            "workflow": "fan_out_fan_in", "instance_id": instance,
            "input": {"task_ids": [f"{instance}-{n}" for n in range(5)]}})
        assert response.status_code == 202
        finished(api, instance)

        seen: list[str] = []

        def trace() -> dict[str, Any] | None:
            try:
                found = httpx.get(f"{JAEGER_URL}/api/traces", timeout=10, params={
                    "service": "workflow-service-app", "start": str(since), "limit": "50",
                }).json().get("data") or []
            except httpx.TransportError as error:
                seen[:] = [f"Jaeger's forward: {error!r}"]
                return None  # Tilt's forward to Jaeger not serving yet, or re-established
            seen[:] = [_described(candidate) for candidate in found]
            for candidate in found:
                services = {p["serviceName"] for p in candidate["processes"].values()}
                started = any("start-workflow" in s["operationName"] for s in candidate["spans"])
                if started and {"workflow-service-app", "workflow-service"} <= services:
                    return dict(candidate)
            return None

        try:
            found = wait_until("a trace with the app's and daprd's spans", trace, 120, interval=3)
        except AssertionError as error:
            raise AssertionError(f"{error}; the last search found {len(seen)}:\n"
                                 + "\n".join(seen[:50])) from None
        by_service: dict[str, int] = {}
        for span in found["spans"]:
            name = found["processes"][span["processID"]]["serviceName"]
            by_service[name] = by_service.get(name, 0) + 1
        note(f"trace {found['traceID']} of {instance}: spans by service {by_service}")
        assert by_service["workflow-service-app"] >= 1 and by_service["workflow-service"] >= 2


def test_prometheus_holds_the_apps_and_daprds_series_of_a_workflow(api: httpx.Client) -> None:
    with timed("check: Prometheus scrapes the app and its sidecar"):
        instance = uid("scraped")
        start(api, "task_chaining", task(instance), instance)
        finished(api, instance)
        wanted = {
            "the app's starts": 'workflow_starts_total{job="workflow-service",'
                                'workflow="task_chaining"}',
            "the app's ends": 'workflow_ends_total{job="workflow-service",'
                              'workflow="task_chaining",status="COMPLETED"}',
            "daprd's workflow series": '{job="daprd",'
                                           '__name__=~"dapr_runtime_workflow_.+"}',
        }
        last: dict[str, Any] = {}

        def found() -> bool:
            for what, query in wanted.items():
                try:
                    last[what] = httpx.get(f"{PROMETHEUS_URL}/api/v1/query", timeout=10,
                                           params={"query": query}).json()["data"]["result"]
                except (httpx.HTTPError, KeyError, ValueError) as error:
                    last[what] = repr(error)
            return all(isinstance(r, list) and r for r in last.values())

        try:
            wait_until("the app's and daprd's series in Prometheus", found, 90, interval=3)
        except AssertionError as error:
            raise AssertionError(f"{error}; last answers: {last}") from None
        alerts = httpx.get(f"{PROMETHEUS_URL}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = sum(len(group["rules"]) for group in alerts)
        names = sorted({s["metric"]["__name__"] for r in last.values() for s in r})
        dapr = [name for name in names if name.startswith("dapr_")]
        app = [name for name in names if not name.startswith("dapr_")]
        # the page Tilt links to: Debian's build reads it from /usr/share/prometheus
        page = httpx.get(f"{PROMETHEUS_URL}/graph", timeout=10, follow_redirects=True)
        note(f"Prometheus (stand-in: Debian's prometheus) holds the app's {', '.join(app)} and "
             f"{len(dapr)} dapr_runtime_workflow_* series of daprd; {rules} alert rules loaded; "
             f"its page answers {page.status_code}")
        assert rules >= 7
        assert page.status_code == 200 and "<title>" in page.text, page.text[:300]


def _described(trace: dict[str, Any]) -> str:
    """A trace in a line: its services and its spans' operation names."""
    services = sorted({p["serviceName"] for p in trace["processes"].values()})
    operations = sorted({s["operationName"] for s in trace["spans"]})
    return f"{trace['traceID']} {services} {operations[:6]}"


def test_deploy_defaults_hold_on_the_running_pods(api: httpx.Client) -> None:
    pod = kubectl("get", "pods", "-l", APP, "-o", "jsonpath={.items[0].metadata.name}")
    spec = json.loads(kubectl("get", "pod", pod, "-o", "json"))["spec"]
    for container in spec["containers"] + spec.get("initContainers", []):
        assert container["resources"]["limits"], container["name"]
    assert subprocess_fails(pod, "open('/srv/probe', 'w')")
    assert not subprocess_fails(pod, "open('/tmp/probe', 'w').write('x')")
    assert subprocess_fails(pod, "open('/var/run/secrets/kubernetes.io/serviceaccount/token')")
    policy = json.loads(kubectl("get", "networkpolicy", "redis", "-o", "json"))["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "redis"}
    note("NetworkPolicy redis is applied; this cluster's CNI (bridge) does not enforce "
         "NetworkPolicy, so it is checked for presence here, not for effect")


def subprocess_fails(pod: str, code: str) -> bool:
    """Python `code` run in the app container exits with an error."""
    result = subprocess.run(["kubectl", "exec", pod, "-c", "app", "--", "python", "-c", code],
                            capture_output=True, text=True, timeout=60, check=False)
    return result.returncode != 0


def test_app_pod_deleted_while_an_approval_waits_and_a_fan_out_runs(api: httpx.Client) -> None:
    with timed("fault: app pod deleted mid-approval and mid-fan-out"):
        waiting, fan = uid("order"), uid("fan")
        start(api, "purchase_approval", order(waiting), waiting)
        start(api, "fan_out_fan_in", {"task_ids": [f"{fan}-{n}" for n in range(20)],
                                      "work_seconds": 5}, fan)
        running(api, waiting)
        running(api, fan)
        kubectl("delete", "pod", "-l", APP, "--wait=true", timeout=180)
        app_ready()
        approve(api, waiting, True, "Jane Doe")
        assert finished(api, waiting)["output"]["status"] == "approved"
        out = finished(api, fan, timeout=300)
        assert out["runtime_status"] == "COMPLETED" and out["output"]["processed_count"] == 20


def _containers() -> dict[str, list[str]]:
    """The containers of each of the service's pods not being deleted, by pod."""
    pods = json.loads(kubectl("get", "pods", "-l", APP, "-o", "json"))["items"]
    return {pod["metadata"]["name"]: [c["name"] for c in pod["spec"]["containers"]]
            for pod in pods if "deletionTimestamp" not in pod["metadata"]}


def test_a_pod_made_while_the_injector_is_away_gets_its_sidecar_back(api: httpx.Client) -> None:
    """The injector's webhook lets a pod through without daprd when the injector does not
    answer; the operator's watchdog (k8s/dapr/values-dev.yaml) deletes it once the injector is
    back, and the Deployment makes it again with its sidecar."""
    injector = ("-n", "dapr-system", "deployment/dapr-sidecar-injector")
    with timed("fault: app pod made while the sidecar injector is away"):
        kubectl("scale", *injector, "--replicas=0")
        try:
            kubectl("wait", "-n", "dapr-system", "--for=delete", "pod", "-l",
                    "app=dapr-sidecar-injector", "--timeout=120s", timeout=130)
            kubectl("delete", "pod", "-l", APP, "--wait=true", timeout=180)
            bare = wait_until("the service's new pod", _containers, 60)
            assert all("daprd" not in names for names in bare.values()), bare  # the fault took
        finally:
            kubectl("scale", *injector, "--replicas=1")
        back = time.monotonic()
        wait_until("the watchdog's new pod, with daprd",
                   lambda: (pods := _containers()) and all("daprd" in c for c in pods.values()),
                   180)
        note(f"a pod made without its sidecar was made again with it "
             f"{time.monotonic() - back:.0f}s after the injector was scaled back up")
        app_ready()
        chain = uid("chain")
        start(api, "task_chaining", task(chain), chain)
        assert finished(api, chain)["runtime_status"] == "COMPLETED"
        kubectl("wait", "--for=delete", *(f"pod/{name}" for name in bare), "--timeout=120s",
                timeout=130)  # gone, not only terminating, before the next test counts pods


def test_two_replicas_share_the_workflows(api: httpx.Client) -> None:
    with timed("fault: scaled to 2 replicas, workflows spread"):
        kubectl("scale", "deployment/workflow-service", "--replicas=2")
        app_ready()
        batch = uid("spread")
        instances = [f"{batch}-{n}" for n in range(6)]
        for instance in instances:
            start(api, "fan_out_fan_in", {"task_ids": [f"{instance}-{k}" for k in range(10)],
                                          "work_seconds": 0.2}, instance)
        for instance in instances:
            assert finished(api, instance)["runtime_status"] == "COMPLETED"
        pods = kubectl("get", "pods", "-l", APP, "-o", "jsonpath={.items[*].metadata.name}").split()
        per_pod = {pod: kubectl("logs", pod, "-c", "app").count(f"analyze_item {batch}")
                   for pod in pods}
        note(f"2 replicas: activities of 6 fan-outs (60 items) per pod: {per_pod}")
        assert len(pods) == 2 and all(count > 0 for count in per_pod.values()), per_pod
        kubectl("scale", "deployment/workflow-service", "--replicas=1")
        app_ready()


def test_redis_pod_deleted_while_an_approval_waits_loses_nothing(api: httpx.Client) -> None:
    with timed("fault: Redis pod deleted while an approval waits"):
        done, waiting = completed_and_waiting(api)
        kubectl("delete", "pod", "-l", REDIS, "--wait=true", timeout=180)
        kubectl("rollout", "status", "deployment/redis", "--timeout=180s", timeout=190)
        took = kept_across_a_store_restart(api, done, waiting)
        note(f"Redis pod deleted (append-only file on the claim redis-data): a completed "
             f"instance and a waiting approval kept; the approval completed "
             f"{took:.1f}s after the new pod was ready")


def test_tilt_down_removes_what_tilt_up_created(tilt: Tilt) -> None:
    tilt_down_leaves_nothing(tilt)
