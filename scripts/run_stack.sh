#!/usr/bin/env bash
# Start the action server and Rasa on 127.0.0.1, wait until Rasa answers a real message, and
# print the URLs. Ctrl-C (or either process dying) stops everything. `--shell` opens
# `rasa shell` against the action server instead of the HTTP server.
# Called by `make run` / `make shell`, which have already built the KB and trained the model.
set -uo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-run}"
: "${RASA_PORT:=5005}" "${ACTIONS_PORT:=5055}" "${DATA_DIR:=.data}" "${LOG_LEVEL:=INFO}"
MODEL="models/rhizotomy-assistant.tar.gz"
mkdir -p "$DATA_DIR"

export RASA_TELEMETRY_ENABLED=false
export SANIC_HOST="${SANIC_HOST:-127.0.0.1}"
export ACTION_SERVER_URL="${ACTION_SERVER_URL:-http://127.0.0.1:${ACTIONS_PORT}/webhook}"
export TRACKER_STORE_DIALECT="${TRACKER_STORE_DIALECT:-sqlite}"
export TRACKER_STORE_URL="${TRACKER_STORE_URL:-sqlite:///$(cd "$DATA_DIR" && pwd)/tracker.sqlite3}"

pids=()
stop_all() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
}
trap stop_all EXIT
trap 'echo; echo "Stopping..."; exit 130' INT TERM

[ -f "$MODEL" ] || { echo "No trained model at $MODEL (run: make train)" >&2; exit 1; }

.venv/actions/bin/python -m rasa_sdk --actions actions --port "$ACTIONS_PORT" &
pids+=($!)

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

.venv/bot/bin/rasa run --model "$MODEL" --interface 127.0.0.1 --port "$RASA_PORT" \
  --endpoints endpoints.yml --credentials "$CREDENTIALS" &
pids+=($!)

if ! .venv/actions/bin/python scripts/readiness.py --url "http://127.0.0.1:${RASA_PORT}" \
     --timeout "${READINESS_TIMEOUT:-240}" --pid "${pids[1]}"; then
  echo "Rasa is not answering messages; stopping (see the log above)." >&2
  exit 1
fi

SMS_LINE=""
[ "$CREDENTIALS" = "credentials.yml" ] \
  || SMS_LINE="    SMS webhook (Twilio, signed):     http://127.0.0.1:${RASA_PORT}/webhooks/twilio/webhook
"
cat <<MSG

  The assistant is running (Ctrl-C stops everything):
    Website chat (open in a browser): http://127.0.0.1:${RASA_PORT}/webhooks/webchat/
    Rasa REST channel (local tools):  http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook
    Action server:                    http://127.0.0.1:${ACTIONS_PORT}/health
${SMS_LINE}  Try:  curl -s -XPOST http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook \\
          -H 'Content-Type: application/json' -d '{"sender":"demo","message":"do i need a driver"}'

MSG

wait -n "${pids[@]}"
status=$?
echo "A server stopped unexpectedly (exit $status); stopping the others." >&2
exit 1
