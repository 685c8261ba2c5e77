#!/usr/bin/env bash
# Start the action server and Rasa on 127.0.0.1, wait until Rasa answers a real message, and
# print the URLs. Ctrl-C (or Rasa dying) stops everything; an action server that dies after
# start-up is started again while Rasa keeps answering (the safety gate answers emergencies
# without it, and ordinary questions get the "please call" text). `--shell` opens
# `rasa shell` against the action server instead of the HTTP server.
# Called by `make run` / `make shell`, which have already built the KB and trained the model.
set -uo pipefail
cd "$(dirname "$0")/.."
# Patient data (SQLite files, secrets, exports) is readable by its owner only: every file the
# servers create under DATA_DIR is 0600, every folder 0700 (common/private_files.py).
umask 077

MODE="${1:-run}"
: "${RASA_PORT:=5005}" "${ACTIONS_PORT:=5055}" "${DATA_DIR:=.data}" "${LOG_LEVEL:=INFO}"
: "${PROFILE:=local}"
MODEL="${RASA_MODEL:-models/rhizotomy-assistant.tar.gz}"
mkdir -p "$DATA_DIR" && chmod -R go-rwx "$DATA_DIR"

export RASA_TELEMETRY_ENABLED=false LOG_LEVEL PROFILE DATA_DIR
export SANIC_HOST="${SANIC_HOST:-127.0.0.1}"
export ACTION_SERVER_URL="${ACTION_SERVER_URL:-http://127.0.0.1:${ACTIONS_PORT}/webhook}"
# Profiles (README, "Production"): endpoints.yml reads every value below from the environment.
# Rasa stops at start-up on an unset ${VAR}, so each one gets a value here.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # bot.* classes named in the YAML files
export ACTION_SERVER_TOKEN="${ACTION_SERVER_TOKEN:-}" ACTION_TIMEOUT_S="${ACTION_TIMEOUT_S:-5}"
export LOCK_STORE_URL="${LOCK_STORE_URL:-redis://127.0.0.1:6379/1}"
RASA_LOG_ARGS=() SDK_LOG_ARGS=()
fail() { echo "ERROR: $*" >&2; exit 1; }
case "$PROFILE" in
  local)
    export TRACKER_STORE_DIALECT="${TRACKER_STORE_DIALECT:-sqlite}"
    export TRACKER_STORE_URL="${TRACKER_STORE_URL:-sqlite:///$(cd "$DATA_DIR" && pwd)/tracker.sqlite3}"
    export LOCK_STORE_TYPE="${LOCK_STORE_TYPE:-bot.lock_store.PromptInMemoryLockStore}"
    ;;
  production)
    export TRACKER_STORE_DIALECT="${TRACKER_STORE_DIALECT:-postgresql}"
    export LOCK_STORE_TYPE="${LOCK_STORE_TYPE:-bot.lock_store.AtomicRedisLockStore}"
    [[ "${TRACKER_STORE_URL:-}" == postgresql://* ]] \
      || fail "production needs TRACKER_STORE_URL=postgresql://user:password@host:port/db"
    [[ "${KB_DATABASE_URL:-}" == postgresql://* ]] \
      || fail "production needs KB_DATABASE_URL=postgresql://… (make kb loads it)"
    # SMS state (seen MessageSids, consent, delivery status): the tracker database by default.
    export SMS_STATE_DATABASE_URL="${SMS_STATE_DATABASE_URL:-$TRACKER_STORE_URL}"
    [[ "$SMS_STATE_DATABASE_URL" == postgresql://* ]] \
      || fail "production keeps SMS state in PostgreSQL (SMS_STATE_DATABASE_URL=postgresql://…)"
    # Rate limits shared by every Rasa process (bot/rate_limit.py): the lock store's Redis.
    export RATE_LIMIT_STORE="${RATE_LIMIT_STORE:-redis}"
    export RATE_LIMIT_REDIS_URL="${RATE_LIMIT_REDIS_URL:-$LOCK_STORE_URL}"
    # Rasa listens on 127.0.0.1 only: patients reach it through the TLS proxy, whose
    # X-Forwarded-For entry is the client address (else every patient shares one limit).
    export RATE_LIMIT_TRUSTED_PROXIES="${RATE_LIMIT_TRUSTED_PROXIES:-1}"
    [ "$RATE_LIMIT_STORE" = redis ] || fail "production keeps rate limits in Redis (RATE_LIMIT_STORE=redis)"
    [ "${#ACTION_SERVER_TOKEN}" -ge 32 ] \
      || fail "production needs ACTION_SERVER_TOKEN (at least 32 random characters)"
    [ "$LOG_LEVEL" = INFO ] || [ "$LOG_LEVEL" = WARNING ] \
      || fail "production logs at INFO or WARNING only (Rasa logs patient text at DEBUG)"
    RASA_LOG_ARGS=(--logging-config-file scripts/logging.production.yml)
    SDK_LOG_ARGS=(--logging-config_file scripts/logging.production.yml)
    [ "$LOG_LEVEL" = WARNING ] && SDK_LOG_ARGS+=(--quiet)
    ;;
  *) fail "PROFILE must be local or production (got '$PROFILE')" ;;
esac
# Rasa HTTP API: off unless RASA_ENABLE_API=true, and then only with a token or JWT secret.
RASA_API_ARGS=()
if [ "${RASA_ENABLE_API:-false}" = true ]; then
  [ -n "${RASA_API_AUTH_TOKEN:-}${RASA_JWT_SECRET:-}" ] \
    || fail "RASA_ENABLE_API=true needs RASA_API_AUTH_TOKEN or RASA_JWT_SECRET"
  RASA_API_ARGS=(--enable-api)
  [ -n "${RASA_API_AUTH_TOKEN:-}" ] && RASA_API_ARGS+=(--auth-token "$RASA_API_AUTH_TOKEN")
  if [ -n "${RASA_JWT_SECRET:-}" ]; then
    [ "${#RASA_JWT_SECRET}" -ge 32 ] || fail "RASA_JWT_SECRET must have at least 32 characters"
    RASA_API_ARGS+=(--jwt-secret "$RASA_JWT_SECRET" --jwt-method HS256)
  fi
fi
# CORS for the Rasa server: only the listed origins (space or comma separated), never "*".
CORS_ARGS=()
if [ -n "${RASA_CORS_ORIGINS:-}" ]; then
  [[ "$RASA_CORS_ORIGINS" == *"*"* ]] && fail "RASA_CORS_ORIGINS may not contain '*'"
  read -r -a origins <<<"${RASA_CORS_ORIGINS//,/ }"
  CORS_ARGS=(--cors "${origins[@]}")
fi
# More Rasa processes on EXTRA_RASA_PORTS need a shared lock store (never an in-memory one).
read -r -a EXTRA_PORTS <<<"${EXTRA_RASA_PORTS:-}"
[ ${#EXTRA_PORTS[@]} -gt 0 ] && [[ "$LOCK_STORE_TYPE" == in_memory || "$LOCK_STORE_TYPE" == *InMemory* ]] \
  && fail "EXTRA_RASA_PORTS needs the Redis lock store (PROFILE=production)"
# Web chat origins (bot/channels/webchat.py never trusts the Host header): production needs
# its public origin; the local profile allows its own loopback pages.
if [ "$PROFILE" = production ]; then
  [[ "${PUBLIC_BASE_URL:-}" == https://* ]] \
    || fail "production needs PUBLIC_BASE_URL=https://<the assistant's public host>"
else
  for port in "$RASA_PORT" ${EXTRA_PORTS[@]+"${EXTRA_PORTS[@]}"}; do
    WEBCHAT_ALLOWED_ORIGINS="${WEBCHAT_ALLOWED_ORIGINS:+$WEBCHAT_ALLOWED_ORIGINS,}http://127.0.0.1:$port,http://localhost:$port"
  done
  export WEBCHAT_ALLOWED_ORIGINS
fi

# The example clinic profile and the unreviewed default protocol never go live
# (actions/kb/production.py): one line per placeholder, then exit 1 before starting anything.
if [ "$PROFILE" = production ]; then
  .venv/actions/bin/python -m actions.kb.cli production-check "${KB_DIR:-data/kb}" >&2 \
    || fail "production needs the clinic's own profile and a reviewed KB (KB_DIR, KB_CLINIC)"
fi

pids=()
stop_all() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
}
trap stop_all EXIT
trap 'echo; echo "Stopping..."; exit 130' INT TERM

[ -f "$MODEL" ] || { echo "No trained model at $MODEL (run: make train)" >&2; exit 1; }

start_actions() {  # the action server is always pids[0]
  .venv/actions/bin/python -m rasa_sdk --actions actions --port "$ACTIONS_PORT" \
    ${SDK_LOG_ARGS[@]+"${SDK_LOG_ARGS[@]}"} &
  pids[0]=$!
}
start_actions

for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:${ACTIONS_PORT}/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "The action server failed to start" >&2; exit 1; }
  sleep 1
done

if [ "$MODE" = "--shell" ]; then
  .venv/bot/bin/rasa shell --model "$MODEL" --endpoints endpoints.yml
  exit $?
fi

# SMS is enabled only when Twilio credentials are present (see the comment in credentials.yml).
CREDENTIALS="credentials.yml"
[ -n "${TWILIO_AUTH_TOKEN:-}" ] && CREDENTIALS="bot/channels/credentials.twilio.yml"
[ "$PROFILE" = production ] && CREDENTIALS="credentials.production.yml"
CREDENTIALS="${RASA_CREDENTIALS:-$CREDENTIALS}"  # tests use their own channel list
# The readiness probe talks through the REST channel when there is one, else the web chat.
PROBE_CHANNEL=webchat
grep -qE '^(rest|bot\.rest_safe\.SafeRestInput):' "$CREDENTIALS" && PROBE_CHANNEL=rest

for port in "$RASA_PORT" ${EXTRA_PORTS[@]+"${EXTRA_PORTS[@]}"}; do
  .venv/bot/bin/rasa run --model "$MODEL" --interface 127.0.0.1 --port "$port" \
    --endpoints endpoints.yml --credentials "$CREDENTIALS" \
    ${RASA_LOG_ARGS[@]+"${RASA_LOG_ARGS[@]}"} ${RASA_API_ARGS[@]+"${RASA_API_ARGS[@]}"} \
    ${CORS_ARGS[@]+"${CORS_ARGS[@]}"} &
  pids+=($!)
done

for i in "${!pids[@]}"; do
  [ "$i" = 0 ] && continue
  port_list=("$RASA_PORT" ${EXTRA_PORTS[@]+"${EXTRA_PORTS[@]}"})
  if ! .venv/actions/bin/python scripts/readiness.py --url "http://127.0.0.1:${port_list[$((i-1))]}" \
       --timeout "${READINESS_TIMEOUT:-240}" --pid "${pids[$i]}" --channel "$PROBE_CHANNEL"; then
    echo "Rasa is not answering messages; stopping (see the log above)." >&2
    exit 1
  fi
done

SMS_LINE=""
grep -q "SecureTwilioInput" "$CREDENTIALS" \
  && SMS_LINE="    SMS webhook (Twilio, signed):     http://127.0.0.1:${RASA_PORT}/webhooks/twilio/webhook
"
REST_LINE="" TRY_LINES=""
if [ "$PROBE_CHANNEL" = rest ]; then
  REST_LINE="    Rasa REST channel (local tools):  http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook
"
  TRY_LINES="  Try:  curl -s -XPOST http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook \\
          -H 'Content-Type: application/json' -d '{\"sender\":\"demo\",\"message\":\"do i need a driver\"}'
"
fi
[ ${#EXTRA_PORTS[@]} -gt 0 ] && REST_LINE="${REST_LINE}    More Rasa processes on ports:     ${EXTRA_PORTS[*]}
"
cat <<MSG

  The assistant is running (profile: ${PROFILE}; Ctrl-C stops everything):
    Website chat (open in a browser): http://127.0.0.1:${RASA_PORT}/webhooks/webchat/
${REST_LINE}    Action server:                    http://127.0.0.1:${ACTIONS_PORT}/health
${SMS_LINE}${TRY_LINES}
MSG

# An action server that stops (crash, out of memory, killed) must not take Rasa down with it:
# patients would get no answer at all, emergencies included. It is started again after
# ACTIONS_RESTART_DELAY_S; Rasa stopping still stops everything.
while true; do
  wait -n "${pids[@]}"
  status=$?
  rasa_running=1
  for pid in "${pids[@]:1}"; do kill -0 "$pid" 2>/dev/null || rasa_running=0; done
  if [ "$rasa_running" = 1 ] && ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "The action server stopped (exit $status); Rasa keeps answering. Restarting it in" \
      "${ACTIONS_RESTART_DELAY_S:-2} s." >&2
    sleep "${ACTIONS_RESTART_DELAY_S:-2}"
    start_actions
    continue
  fi
  break
done
echo "A server stopped unexpectedly (exit $status); stopping the others." >&2
exit 1
