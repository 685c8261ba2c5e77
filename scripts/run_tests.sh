#!/usr/bin/env bash
# Everything `make test` (and CI) runs, in order, stopping at the first failure.
# Installs and starts what the tests need (PostgreSQL, Chromium, axe-core) on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false
ACT=.venv/actions/bin
BOT=.venv/bot/bin

step() { printf '\n==> %s\n' "$*"; }
# pytest exit code 5 ("no tests ran") is a failure here, like any other non-zero code.
run_pytest() { "$@" || { code=$?; [ "$code" = 5 ] && echo "pytest collected no tests" >&2; exit "$code"; }; }

step "Lint and types"
$ACT/ruff check actions tests scripts rasa_sdk_plugins bench privacy --exclude tests/bot,tests/browser,tests/stack
$BOT/ruff check bot tests/bot tests/browser tests/stack
$ACT/mypy actions rasa_sdk_plugins privacy
$BOT/mypy bot

step "Knowledge base: validate, derived files and generated rules up to date"
$ACT/python -m actions.kb.cli check data/kb
$ACT/python -m actions.kb.cli export data/kb --check
$ACT/python scripts/generate_rules.py --check

step "PostgreSQL for the KB tests"
TEST_POSTGRES_URL="$(scripts/test_services.sh postgres)"
export TEST_POSTGRES_URL REQUIRE_POSTGRES=1

step "Action server tests (KB on SQLite and PostgreSQL, actions, plan, data)"
run_pytest $ACT/python -m pytest tests/kb tests/actions tests/plan tests/data -q

step "Rasa-side unit tests (NLU components, channels)"
run_pytest $BOT/python -m pytest tests/bot -q

step "Rasa data validation"
make --no-print-directory validate

step "Train (seeded; skipped when nothing changed) and run the test stories"
make --no-print-directory kb train
make --no-print-directory test-stories

step "Safety end to end: Rasa alone (no action server) still answers emergencies"
run_pytest $BOT/python -m pytest tests/stack -q

step "Production profile: PostgreSQL, Redis, restarts, two Rasa processes, failures, fuzzing"
TEST_REDIS_URL="$(scripts/test_services.sh redis)"
export TEST_REDIS_URL
run_pytest $BOT/python -m pytest tests/production -q

if [ -d tests/browser ]; then
  step "Browser and stack tests (Chromium via Playwright, axe-core)"
  command -v chromium >/dev/null || scripts/test_services.sh chromium
  [ -d node_modules/axe-core ] || npm ci --no-audit --no-fund --silent
  run_pytest $BOT/python -m pytest tests/browser -q
fi

printf '\nAll checks passed.\n'
