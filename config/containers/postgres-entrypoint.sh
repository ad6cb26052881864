#!/bin/bash
# The official postgres image's entrypoint, in short: on an empty data directory, initdb
# with POSTGRES_USER (default postgres) as the superuser and POSTGRES_PASSWORD as its
# password, password authentication (scram-sha-256) for every network client, and
# POSTGRES_DB (default: the user's name) created; then `postgres` runs as the postgres
# user. A data directory that holds a cluster already is used as it is.
set -euo pipefail
if [ "${1:-}" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
  # A fresh volume arrives owned by root; the socket directory may be a new tmpfs.
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  database="${POSTGRES_DB:-$user}"
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  # Every network client, with a password (the official image's pg_hba line).
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [ "$database" != postgres ]; then
    # Single-user mode: no server, no socket, nothing can connect before it is done.
    ident=${database//\"/\"\"}
    echo "CREATE DATABASE \"$ident\";" | postgres --single -j -D "$PGDATA" postgres >/dev/null
  fi
  echo "PostgreSQL init process complete; ready for start up." >&2
fi
exec "$@"
