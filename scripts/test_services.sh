#!/usr/bin/env bash
# Install (Debian packages) and start the services tests need, on loopback only, and print
# their URLs. Idempotent: a service already running is reused.
#   scripts/test_services.sh postgres   -> prints postgresql://postgres@127.0.0.1:PORT/DB
#   scripts/test_services.sh redis      -> redis://127.0.0.1:PORT (Debian's redis-server)
#   scripts/test_services.sh chromium   -> installs Debian's chromium, prints its path
set -euo pipefail

PG_PORT="${TEST_PG_PORT:-55432}"
PG_DIR="${TEST_PG_DIR:-/tmp/rhizotomy-test-pg}"
PG_DB="${TEST_PG_DB:-rhizotomy_test}"
REDIS_TEST_PORT="${TEST_REDIS_PORT:-56379}"
REDIS_DIR="${TEST_REDIS_DIR:-/tmp/rhizotomy-test-redis}"

apt_install() {
  if [ "$(id -u)" != "0" ]; then
    echo "ERROR: $* is not installed and installing it needs root (apt-get install -y $*)" >&2
    exit 1
  fi
  echo "Installing $* from Debian packages..." >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

as_pg_owner() {  # initdb/postgres refuse to run as root
  if [ "$(id -u)" = "0" ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

postgres() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
    apt_install postgresql
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    rm -rf "$PG_DIR" && mkdir -p "$PG_DIR"
    [ "$(id -u)" = "0" ] && chown postgres:postgres "$PG_DIR"
    as_pg_owner "'$bin/initdb' -D '$PG_DIR/data' -U postgres -A trust --no-sync >'$PG_DIR/initdb.log' 2>&1"
    as_pg_owner "'$bin/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w \
      -o \"-p $PG_PORT -h 127.0.0.1 -k '$PG_DIR' -c fsync=off -c full_page_writes=off\" start >/dev/null"
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
       "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
  fi
  echo "postgresql://postgres@127.0.0.1:${PG_PORT}/${PG_DB}"
}

redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_TEST_PORT" ping 2>/dev/null | grep -q PONG; then
    mkdir -p "$REDIS_DIR"
    # Loopback only, no persistence: a scratch lock store for the tests.
    redis-server --bind 127.0.0.1 --port "$REDIS_TEST_PORT" --daemonize yes \
      --save "" --appendonly no --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" \
      --pidfile "$REDIS_DIR/redis.pid" >/dev/null
    for _ in $(seq 1 50); do
      redis-cli -h 127.0.0.1 -p "$REDIS_TEST_PORT" ping 2>/dev/null | grep -q PONG && break
      sleep 0.1
    done
  fi
  echo "redis://127.0.0.1:${REDIS_TEST_PORT}"
}

chromium() {
  command -v chromium >/dev/null 2>&1 || apt_install chromium chromium-driver
  command -v chromium
}

case "${1:-}" in
  postgres) postgres ;;
  redis) redis ;;
  chromium) chromium ;;
  *) echo "usage: $0 postgres|redis|chromium" >&2; exit 2 ;;
esac
