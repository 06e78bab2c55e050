#!/bin/sh
# The entrypoint of the postgres stand-in (tools/cluster/images.py), doing what the official
# image's does as far as k8s/postgres/postgres.yaml uses it. On a PGDATA without a cluster: initdb
# with the superuser POSTGRES_USER and its password POSTGRES_PASSWORD, password auth
# (scram-sha-256) for TCP connections from anywhere, the server listening on every address, and
# the database POSTGRES_DB. Then, and on every later start, the command (`postgres`) in the
# foreground as PID 1, so the image's stop signal (SIGINT, a fast shutdown) reaches it.
set -eu

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?is required to initialise a cluster, as in the official image}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  printf '%s\n' "$POSTGRES_PASSWORD" |
    initdb --username="$user" --pwfile=/dev/stdin --auth-local=trust --auth-host=scram-sha-256
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # Single-user mode: no server to start and stop for one statement. It exits 0 whatever
    # the statement did, so its errors are looked for in what it logs.
    quoted=$(printf '%s' "$db" | sed 's/"/""/g')
    logged=$(echo "CREATE DATABASE \"$quoted\"" |
      postgres --single -D "$PGDATA" template1 2>&1 >/dev/null)
    case $logged in *ERROR:*) echo "$logged" >&2; exit 1 ;; esac
  fi
  echo "initialised $PGDATA: superuser $user, database $db"
fi
exec "$@"
