#!/usr/bin/env bash
# Everything `make test` (and CI) runs, in order, stopping at the first failure. Each step is a
# Makefile target, so `make lint`, `make test-actions`, ... run exactly what CI runs.
# The targets install and start what the tests need (PostgreSQL, Redis, Chromium, Node/npm
# for axe-core) from Debian packages when it is missing, on loopback (scripts/test_services.sh).
# Any non-zero exit fails the run, including pytest's 5 ("no tests ran").
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false
# One random-order seed for every pytest run of this invocation (printed by each target).
RANDOM_SEED="${RANDOM_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}"
export RANDOM_SEED

step() {
  printf '\n==> %s\n' "$1"
  shift
  make --no-print-directory "$@"
}

step "Lint and types" lint typecheck
step "Knowledge base: valid, derived files and generated rules up to date" kb-up-to-date
step "Action server tests (set-up scripts, KB on SQLite and PostgreSQL, actions, plan, data)" \
  test-actions
step "Rasa-side unit tests (NLU components, channels)" test-bot
step "Rasa data validation" validate
step "Train (seeded; skipped when nothing changed) and run the test stories" kb train test-stories
step "Safety end to end: Rasa alone (no action server) still answers emergencies" test-stack
step "Production profile: PostgreSQL, Redis, restarts, two Rasa processes, failures, fuzzing" \
  test-production
step "Browser and stack tests (Chromium via Playwright, axe-core)" test-browser

printf '\nAll checks passed.\n'
