#!/bin/sh
# The Secret postgres-credentials, made once per cluster with a random password: `password` for
# the server, `connectionString` for Dapr's state.postgresql component. An existing Secret is
# kept, so the password stays the one the data volume was initialised with.
set -eu
SECRET=postgres-credentials
if kubectl get secret "$SECRET" -o name >/dev/null 2>&1; then
  echo "secret $SECRET exists: kept"
  exit 0
fi
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
kubectl create secret generic "$SECRET" \
  --from-literal=password="$password" \
  --from-literal=connectionString="host=postgres port=5432 user=dapr password=$password dbname=dapr sslmode=disable connect_timeout=5"
echo "secret $SECRET created"
