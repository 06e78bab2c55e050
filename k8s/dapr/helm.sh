#!/bin/sh
# Dapr's control plane with helm, for the Tiltfile's k8s_custom_deploy: `apply` installs or
# upgrades it and prints what it created, `delete` removes it, `installed-elsewhere` says whether
# the cluster has a Dapr this script did not install (the Tiltfile leaves that one alone).
# The chart comes from $DAPR_HELM_CHART (a chart directory or .tgz), or else from the Go module
# of the pinned Dapr version, which `make run` already downloads: no chart repository is used.
set -eu
cd "$(dirname "$0")/../.."
version=$(cat DAPR_VERSION)
owner=managed-by=workflow-service-tilt
case "${1:-}" in
installed-elsewhere)
  if helm list -n dapr-system --selector "$owner" --short 2>/dev/null | grep -qx dapr; then
    echo no
  elif kubectl get deployment dapr-operator -n dapr-system --ignore-not-found -o name \
    | grep -q .; then
    echo yes
  else
    echo no
  fi
  ;;
apply)
  chart=${DAPR_HELM_CHART:-}
  if [ -z "$chart" ]; then
    command -v go >/dev/null || {
      echo "Dapr's chart: set DAPR_HELM_CHART to dapr-$version.tgz or a chart directory," \
        "or install Go so it is read from the dapr $version module" >&2
      exit 1
    }
    dir=$(go mod download -json "github.com/dapr/dapr@v$version" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    chart="$dir/charts/dapr"
  fi
  # No --wait: Tilt waits for the pods of the objects printed below.
  helm upgrade --install dapr "$chart" --namespace dapr-system --create-namespace \
    --labels "$owner" --values k8s/dapr/values-dev.yaml --set "global.tag=$version" >&2
  # Tilt wants the live objects (with their uids), as `kubectl get` shows them.
  helm get manifest dapr --namespace dapr-system | kubectl get -f - -o yaml
  ;;
delete)
  helm uninstall dapr --namespace dapr-system --wait --ignore-not-found >&2
  ;;
*)
  echo "usage: $0 apply|delete|installed-elsewhere" >&2
  exit 2
  ;;
esac
