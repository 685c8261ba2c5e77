#!/usr/bin/env bash
# Install (Debian packages, `apt-get update` first) what the tests need when it is missing, start
# the services on loopback only, and print their URLs. Idempotent: a service already running is
# reused, a program already installed is not installed again.
#   scripts/test_services.sh postgres   -> prints postgresql://postgres@127.0.0.1:PORT/DB
#   scripts/test_services.sh redis      -> redis://127.0.0.1:PORT (Debian's redis-server)
#   scripts/test_services.sh chromium   -> installs Debian's chromium + chromium-driver, prints
#                                          the path of chromium
#   scripts/test_services.sh npm        -> installs Debian's nodejs + npm (for `npm ci`: axe-core)
# The functions are named after what they do, never after a program they look up: a function
# called `chromium` made `command -v chromium` find the function, so the install never ran.
# tests/setup/test_test_services.py runs each install path with the programs hidden.
set -euo pipefail

PG_PORT="${TEST_PG_PORT:-55432}"
PG_DIR="${TEST_PG_DIR:-/tmp/rhizotomy-test-pg}"
PG_DB="${TEST_PG_DB:-rhizotomy_test}"
REDIS_TEST_PORT="${TEST_REDIS_PORT:-56379}"
REDIS_DIR="${TEST_REDIS_DIR:-/tmp/rhizotomy-test-redis}"
PG_LIB="${TEST_PG_LIB:-/usr/lib/postgresql}"  # Debian's per-version server binaries

apt_install() {
  if [ "$(id -u)" != "0" ]; then
    echo "ERROR: $* is not installed and installing it needs root (apt-get install -y $*)" >&2
    exit 1
  fi
  echo "Installing $* from Debian packages..." >&2
  if [ -z "${APT_UPDATED:-}" ]; then  # once per run: the package lists are fresh after it
    apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

as_pg_owner() {  # initdb/postgres refuse to run as root
  if [ "$(id -u)" = "0" ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

pg_bin_dir() {  # the newest installed server version's bin directory, or nothing
  ls -d "$PG_LIB"/*/bin 2>/dev/null | sort -V | tail -n 1 || true
}

start_postgres() {
  local bin
  bin="$(pg_bin_dir)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
    apt_install postgresql
    bin="$(pg_bin_dir)"
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "ERROR: no initdb under $PG_LIB" >&2; exit 1; }
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

start_redis() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server  # redis-cli comes with it (redis-tools)
  fi
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_TEST_PORT" ping 2>/dev/null | grep -q PONG; then
    mkdir -p "$REDIS_DIR"
    # Loopback only, no persistence: a scratch lock store for the tests.
    redis-server --bind 127.0.0.1 --port "$REDIS_TEST_PORT" --daemonize yes \
      --save "" --appendonly no --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" \
      --pidfile "$REDIS_DIR/redis.pid" >/dev/null
    local up=""
    for _ in $(seq 1 50); do
      if redis-cli -h 127.0.0.1 -p "$REDIS_TEST_PORT" ping 2>/dev/null | grep -q PONG; then
        up=1 && break
      fi
      sleep 0.1
    done
    [ -n "$up" ] || { echo "ERROR: redis-server did not answer; see $REDIS_DIR/redis.log" >&2; exit 1; }
  fi
  echo "redis://127.0.0.1:${REDIS_TEST_PORT}"
}

install_chromium() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    apt_install chromium chromium-driver
  fi
  command -v chromium
}

install_npm() {
  # Debian's nodejs has no npm (its own package); NodeSource's nodejs includes it and conflicts
  # with Debian's npm, so npm is only installed when nodejs did not bring it.
  command -v node >/dev/null 2>&1 || apt_install nodejs
  command -v npm >/dev/null 2>&1 || apt_install npm
  command -v npm
}

case "${1:-}" in
  postgres) start_postgres ;;
  redis) start_redis ;;
  chromium) install_chromium ;;
  npm) install_npm ;;
  *) echo "usage: $0 postgres|redis|chromium|npm" >&2; exit 2 ;;
esac
