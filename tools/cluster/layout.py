"""Where the cluster lives on this machine and the addresses it uses.

Every address is on this machine: pods on a bridge this cluster creates, Services virtual
(kube-proxy's rules), the API server and the node on the bridge's gateway address, the registry
and etcd on loopback.
"""

from __future__ import annotations

import os
from pathlib import Path

from tools.cluster.build import CACHE

NAME = "dapr-workflow-service"
CONTEXT = f"kind-{NAME}"  # Tilt treats `kind-*` contexts as local clusters
NODE = f"{NAME}-control-plane"

STATE = Path(os.environ.get("CLUSTER_STATE_DIR", "/var/lib/dapr-workflow-service/cluster"))
RUN = Path("/run/dapr-workflow-service-cluster")
PIDS = STATE / "pids"
PKI = STATE / "pki"
KUBECONFIG = STATE / "kubeconfig"
HOST_RECORD = STATE / "host-before.json"
LOGS = CACHE / "logs" / "cluster"
DOCKER_ROOT = CACHE / "docker"  # kept: the stand-in base image and the build cache
REGISTRY_ROOT = CACHE / "registry"  # kept: stand-in images pushed once
CONTAINERD_SOCK = RUN / "containerd" / "containerd.sock"
DOCKER_SOCK = RUN / "docker.sock"

BRIDGE = "dws0"
GATEWAY = "10.244.0.1"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
DOCKER_BRIDGE_IP = "10.88.0.1/24"
DOCKER_CIDR = "10.88.0.0/24"
API_PORT = 6443
REGISTRY = "127.0.0.1:5000"
REGISTRY_NAME = "localhost:5000"  # what Tilt pushes to (kube-public/local-registry-hosting)
ETCD_CLIENT = "127.0.0.1:12379"
ETCD_PEER = "127.0.0.1:12380"
# Image names the manifests and the Dapr chart use, served by the local registry instead.
MIRRORED = ("docker.io", "ghcr.io")
