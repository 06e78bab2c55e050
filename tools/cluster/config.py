"""The configuration files of the cluster's daemons, written under the state directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tools.cluster.layout import (
    API_PORT,
    API_SERVICE_IP,
    BRIDGE,
    CONTAINERD_SOCK,
    CONTEXT,
    DNS_SERVICE_IP,
    DOCKER_BRIDGE_IP,
    DOCKER_ROOT,
    DOCKER_SOCK,
    GATEWAY,
    KUBECONFIG,
    MIRRORED,
    NAME,
    NODE,
    PKI,
    POD_CIDR,
    REGISTRY,
    REGISTRY_NAME,
    REGISTRY_ROOT,
    RUN,
    STATE,
)
from tools.cluster.volumes import CLASS, PROVISIONER

SANS = ("DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
        f"DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:{API_SERVICE_IP},"
        f"IP:{GATEWAY},IP:127.0.0.1")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _cert(name: str, subject: str, extensions: str) -> None:
    key, csr, ext = PKI / f"{name}.key", PKI / f"{name}.csr", PKI / f"{name}.ext"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    ext.write_text(extensions)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(PKI / "ca.crt"), "-CAkey",
             str(PKI / "ca.key"), "-CAcreateserial", "-days", "365", "-extfile", str(ext),
             "-out", str(PKI / f"{name}.crt"))


def pki() -> None:
    """A cluster CA, the API server's serving certificate, one admin client, the SA key pair."""
    if (PKI / "admin.crt").exists():
        return
    PKI.mkdir(parents=True, exist_ok=True)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(PKI / "ca.key"))
    _openssl("req", "-x509", "-new", "-key", str(PKI / "ca.key"), "-days", "3650",
             "-subj", f"/CN={NAME}-ca", "-out", str(PKI / "ca.crt"))
    _cert("apiserver", "/CN=kube-apiserver",
          f"subjectAltName={SANS}\nextendedKeyUsage=serverAuth\n")
    # One client identity (system:masters) for every component: a single-user dev cluster.
    _cert("admin", "/O=system:masters/CN=kubernetes-admin", "extendedKeyUsage=clientAuth\n")
    _openssl("genrsa", "-out", str(PKI / "sa.key"), "2048")
    _openssl("rsa", "-in", str(PKI / "sa.key"), "-pubout", "-out", str(PKI / "sa.pub"))


def kubeconfig() -> None:
    KUBECONFIG.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
        "clusters": [{"name": CONTEXT, "cluster": {
            "server": f"https://{GATEWAY}:{API_PORT}",
            "certificate-authority": str(PKI / "ca.crt")}}],
        "users": [{"name": CONTEXT, "user": {
            "client-certificate": str(PKI / "admin.crt"),
            "client-key": str(PKI / "admin.key")}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT}}],
    }, indent=1))
    KUBECONFIG.chmod(0o600)


def containerd(sandbox_image: str) -> Path:
    """containerd with CRI: cgroupfs, the pause stand-in, registries served from loopback."""
    certs = STATE / "containerd" / "certs.d"
    for host in (*MIRRORED, REGISTRY_NAME):
        (certs / host).mkdir(parents=True, exist_ok=True)
        # `server` is the loopback registry itself: nothing falls back to the real registry.
        (certs / host / "hosts.toml").write_text(
            f'server = "http://{REGISTRY}"\n\n[host."http://{REGISTRY}"]\n'
            '  capabilities = ["pull", "resolve"]\n')
    path = STATE / "containerd" / "config.toml"
    path.write_text(f"""version = 2
root = "{STATE}/containerd/root"
state = "{RUN}/containerd/state"
oom_score = 0
[grpc]
  address = "{CONTAINERD_SOCK}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # This machine cannot lower OOM scores (no CAP_SYS_RESOURCE).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{STATE}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{certs}"
""")
    return path


def cni() -> None:
    """bridge + host-local on the cluster's own bridge, no masquerade; firewall for FORWARD."""
    (STATE / "cni" / "net.d").mkdir(parents=True, exist_ok=True)
    (STATE / "cni" / "net.d" / "10-dws.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": NAME, "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False,
             "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR,
                                                         "gateway": GATEWAY}]],
                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(STATE / "cni" / "ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "firewall"},
        ]}, indent=1))


def kubelet() -> Path:
    path = STATE / "kubelet.yaml"
    (STATE / "resolv.conf").write_text("# no upstream: names outside the cluster do not resolve\n")
    path.write_text(json.dumps({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "address": GATEWAY, "healthzBindAddress": "127.0.0.1", "readOnlyPort": 0,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(PKI / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs", "failCgroupV1": False, "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCK}",
        "clusterDNS": [DNS_SERVICE_IP], "clusterDomain": "cluster.local",
        "resolvConf": str(STATE / "resolv.conf"),
        "podLogsDir": str(STATE / "pod-logs"),
        "serializeImagePulls": False, "protectKernelDefaults": False,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "2%",
                         "imagefs.available": "2%", "nodefs.inodesFree": "2%"},
        "imageGCHighThresholdPercent": 99, "imageGCLowThresholdPercent": 98,
    }, indent=1))
    return path


def kube_proxy() -> Path:
    path = STATE / "kube-proxy.yaml"
    path.write_text(json.dumps({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(KUBECONFIG)}, "mode": "iptables",
        "clusterCIDR": POD_CIDR, "hostnameOverride": NODE,
        "bindAddress": "127.0.0.1", "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249", "nodePortAddresses": [f"{GATEWAY}/32"],
        # Leave the machine's conntrack sysctls and route_localnet alone.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s",
                      "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False},
    }, indent=1))
    return path


def docker() -> Path:
    path = STATE / "docker.json"
    path.write_text(json.dumps({
        "data-root": str(DOCKER_ROOT), "exec-root": str(RUN / "docker"),
        "pidfile": str(RUN / "docker.pid"), "hosts": [f"unix://{DOCKER_SOCK}"],
        "containerd": str(CONTAINERD_SOCK), "containerd-namespace": "moby",
        "containerd-plugins-namespace": "moby-plugins",
        # This cluster sets the few rules builds need itself (tools/cluster/node.py).
        "iptables": False, "ip-masq": False, "ip-forward": False, "bip": DOCKER_BRIDGE_IP,
        "registry-mirrors": [f"http://{REGISTRY}"], "insecure-registries": [REGISTRY],
        "exec-opts": ["native.cgroupdriver=cgroupfs"], "cgroup-parent": "dws-docker",
        "oom-score-adjust": 0, "features": {"buildkit": True},
    }, indent=1))
    return path


def registry() -> Path:
    path = STATE / "registry.yml"
    path.write_text(f"""version: 0.1
log: {{level: warn}}
storage:
  filesystem: {{rootdirectory: {REGISTRY_ROOT}}}
  delete: {{enabled: true}}
http:
  addr: {REGISTRY}
""")
    return path


def corefile() -> Path:
    path = STATE / "Corefile"
    path.write_text(f"""cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {GATEWAY}
    errors
    # No `cache` and ttl 0: a Service recreated by a quick `tilt down`/`tilt up` resolves to
    # its new ClusterIP at once.
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {KUBECONFIG} {CONTEXT}
        pods insecure
        ttl 0
    }}
}}
# No `forward`: names outside the cluster do not exist, and nothing leaves this machine.
.:53 {{
    bind {GATEWAY}
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
""")
    return path


def addons() -> str:
    """kube-dns pointing at CoreDNS on the bridge; where Tilt finds the local registry; the
    default StorageClass (tools/cluster/volumes.py)."""
    return f"""apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {{k8s-app: kube-dns}}
spec:
  clusterIP: {DNS_SERVICE_IP}
  ports:
    - {{name: dns, port: 53, protocol: UDP}}
    - {{name: dns-tcp, port: 53, protocol: TCP}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: {{kubernetes.io/service-name: kube-dns}}
addressType: IPv4
ports:
  - {{name: dns, port: 53, protocol: UDP}}
  - {{name: dns-tcp, port: 53, protocol: TCP}}
endpoints:
  - addresses: ["{GATEWAY}"]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "{REGISTRY_NAME}"
    help: "A registry on this machine's loopback, started by `make cluster`"
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {CLASS}
  annotations: {{storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: {PROVISIONER}
reclaimPolicy: Delete
volumeBindingMode: Immediate
"""
