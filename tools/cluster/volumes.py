"""Volumes for PersistentVolumeClaims: the cluster's default StorageClass `standard` (kind's name).

A claim of that class gets a directory under the cluster's state directory as a hostPath
PersistentVolume bound to it, writable by whatever user the pod runs as (kubelet applies no
fsGroup to hostPath volumes; kind's local-path provisioner makes its directories so too). When the
claim is deleted, the volume and its directory are deleted. One of the cluster's daemons
(`python -m tools.cluster.volumes`); `make cluster-down` removes what is left with the state.
"""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import sys
import time
import urllib.request
from typing import Any

from tools.cluster.layout import API_PORT, GATEWAY, PKI, STATE

CLASS = "standard"
PROVISIONER = "dapr-workflow-service/hostpath"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
VOLUMES = STATE / "volumes"
log = logging.getLogger("volumes")


class Api:
    """The few API server calls this needs, as the cluster's admin."""

    def __init__(self) -> None:
        self.tls = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
        self.tls.load_cert_chain(PKI / "admin.crt", PKI / "admin.key")

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"https://{GATEWAY}:{API_PORT}{path}", method=method,
            data=json.dumps(body).encode() if body else None,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.tls, timeout=10) as response:
            return json.loads(response.read())


def volume_for(claim: dict[str, Any]) -> dict[str, Any]:
    """A directory for `claim` and the PersistentVolume, bound to it, that holds it."""
    meta, spec = claim["metadata"], claim["spec"]
    name = f"pvc-{meta['uid']}"
    directory = VOLUMES / name
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o777)
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}},
        "spec": {
            "storageClassName": CLASS, "persistentVolumeReclaimPolicy": "Delete",
            "accessModes": spec["accessModes"],
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "hostPath": {"path": str(directory), "type": "Directory"},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "namespace": meta["namespace"], "name": meta["name"],
                         "uid": meta["uid"]},
        },
    }


def sync(api: Api) -> None:
    """Create a volume for each claim that waits for one; delete each volume let go of."""
    volumes = api("GET", "/api/v1/persistentvolumes")["items"]
    claimed = {v["spec"]["claimRef"]["uid"] for v in volumes if v["spec"].get("claimRef")}
    for claim in api("GET", "/api/v1/persistentvolumeclaims")["items"]:
        meta, spec = claim["metadata"], claim["spec"]
        if (spec.get("storageClassName") == CLASS and not spec.get("volumeName")
                and meta["uid"] not in claimed and "deletionTimestamp" not in meta):
            volume = api("POST", "/api/v1/persistentvolumes", volume_for(claim))
            log.info("%s/%s: volume %s", meta["namespace"], meta["name"],
                     volume["metadata"]["name"])
    for volume in volumes:
        ours = volume["metadata"].get("annotations", {}).get(PROVISIONED_BY) == PROVISIONER
        if ours and volume["status"].get("phase") in ("Released", "Failed"):
            name = volume["metadata"]["name"]
            shutil.rmtree(VOLUMES / name, ignore_errors=True)
            api("DELETE", f"/api/v1/persistentvolumes/{name}")
            log.info("volume %s deleted with its directory", name)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    api = Api()
    log.info("provisioning %s volumes under %s", CLASS, VOLUMES)
    while True:
        try:
            sync(api)
        except (OSError, ValueError, KeyError) as error:
            log.warning("%s", error)
        time.sleep(1)


if __name__ == "__main__":
    main()
