#!/bin/sh
# Dapr's control plane with helm, for the Tiltfile's k8s_custom_deploy: `apply` installs or
# upgrades it and prints what it created, `delete` removes it, `installed-elsewhere` says whether
# the cluster has a Dapr this script did not install: `yes` at the pinned version (the Tiltfile
# leaves that one alone), `other <its sidecar image>` at any other (the Tiltfile stops).
# The chart comes from $DAPR_HELM_CHART (a chart directory or .tgz), or else from the Go module
# of the pinned Dapr version: from Go's module cache, where building the runtime for `make run`
# puts it, or else downloaded from the Go module proxy. No chart repository is used.
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
    # The daprd image the injector puts beside the app, e.g. <registry>/dapr/daprd:1.18.2-mariner.
    image=$(kubectl get deployment dapr-sidecar-injector -n dapr-system --ignore-not-found \
      -o 'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="SIDECAR_IMAGE")].value}')
    case "${image##*:}" in
    "$version" | "$version"-*) echo yes ;;
    *) echo "other ${image:-unknown}" ;;
    esac
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
    json=$(go mod download -json "github.com/dapr/dapr@v$version") || {
      echo "Dapr's chart: the dapr $version module could not be had ($json);" \
        "set DAPR_HELM_CHART to dapr-$version.tgz or a chart directory" >&2
      exit 1
    }
    dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    chart="$dir/charts/dapr"
    [ -n "$dir" ] && [ -d "$chart" ] || {
      echo "Dapr's chart: none in the dapr $version module ($dir); set DAPR_HELM_CHART" >&2
      exit 1
    }
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
