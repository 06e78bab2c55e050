// The cluster's Go tools, pinned: `make cluster` builds each from the Go module proxy and checks
// every module it fetches against go.sum here, so no checksum database is consulted.
// Nothing imports these modules; each tool is built inside its own module (tools/cluster/build.py).
// github.com/dapr/dapr must match DAPR_VERSION; Tilt and Jaeger are absent from the checksum
// database, so their go.sum lines are the hashes first seen from the proxy.
module dapr-workflow-service/tools/cluster

go 1.24

require (
	github.com/coredns/coredns v1.12.3
	github.com/dapr/dapr v1.18.2
	github.com/jaegertracing/jaeger v1.74.0
	github.com/tilt-dev/tilt v0.34.0
	go.etcd.io/etcd/api/v3 v3.6.4
	go.etcd.io/etcd/client/pkg/v3 v3.6.4
	go.etcd.io/etcd/client/v3 v3.6.4
	go.etcd.io/etcd/pkg/v3 v3.6.4
	go.etcd.io/etcd/server/v3 v3.6.4
	helm.sh/helm/v3 v3.19.0
	k8s.io/api v0.34.4
	k8s.io/apiextensions-apiserver v0.34.4
	k8s.io/apimachinery v0.34.4
	k8s.io/apiserver v0.34.4
	k8s.io/cli-runtime v0.34.4
	k8s.io/client-go v0.34.4
	k8s.io/cloud-provider v0.34.4
	k8s.io/cluster-bootstrap v0.34.4
	k8s.io/code-generator v0.34.4
	k8s.io/component-base v0.34.4
	k8s.io/component-helpers v0.34.4
	k8s.io/controller-manager v0.34.4
	k8s.io/cri-api v0.34.4
	k8s.io/cri-client v0.34.4
	k8s.io/csi-translation-lib v0.34.4
	k8s.io/dynamic-resource-allocation v0.34.4
	k8s.io/endpointslice v0.34.4
	k8s.io/externaljwt v0.34.4
	k8s.io/kms v0.34.4
	k8s.io/kube-aggregator v0.34.4
	k8s.io/kube-controller-manager v0.34.4
	k8s.io/kube-proxy v0.34.4
	k8s.io/kube-scheduler v0.34.4
	k8s.io/kubectl v0.34.4
	k8s.io/kubelet v0.34.4
	k8s.io/kubernetes v1.34.4
	k8s.io/metrics v0.34.4
	k8s.io/mount-utils v0.34.4
	k8s.io/pod-security-admission v0.34.4
	k8s.io/sample-apiserver v0.34.4
)
