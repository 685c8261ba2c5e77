# Rhizotomy preparation assistant: every command the README documents is a target here.
# Two Python 3.10 environments: .venv/bot (rasa 3.6, SQLAlchemy 1.4) and .venv/actions
# (rasa-sdk 3.6, SQLAlchemy 2.x). They cannot share one environment (see README).

SHELL := /bin/bash
.DEFAULT_GOAL := help
-include .env
.EXPORT_ALL_VARIABLES:

RASA_TELEMETRY_ENABLED := false
KB_DIR ?= data/kb
RASA_DATA := data/nlu data/rules data/stories
DATA_DIR ?= .data
KB_DATABASE_URL ?= sqlite:///$(abspath $(DATA_DIR))/kb.sqlite3
RASA_PORT ?= 5005
ACTIONS_PORT ?= 5055
ACTION_SERVER_URL ?= http://127.0.0.1:$(ACTIONS_PORT)/webhook
LOG_LEVEL ?= INFO
SANIC_HOST ?= 127.0.0.1
# Profiles (README "Production"): endpoints.yml reads these; Rasa refuses an unset ${VAR}.
PROFILE ?= local
ifeq ($(PROFILE),production)
LOCK_STORE_TYPE ?= bot.lock_store.AtomicRedisLockStore
TRACKER_STORE_DIALECT ?= postgresql
SMS_STATE_DATABASE_URL ?= $(TRACKER_STORE_URL)
else
LOCK_STORE_TYPE ?= bot.lock_store.PromptInMemoryLockStore
TRACKER_STORE_DIALECT ?= sqlite
TRACKER_STORE_URL ?= sqlite:///$(abspath $(DATA_DIR))/tracker.sqlite3
endif
LOCK_STORE_URL ?= redis://127.0.0.1:6379/1
ACTION_SERVER_TOKEN ?=
ACTION_TIMEOUT_S ?= 5

BOT_VENV := .venv/bot
ACT_VENV := .venv/actions
BOT_PY := $(BOT_VENV)/bin/python
ACT_PY := $(ACT_VENV)/bin/python
RASA := $(BOT_VENV)/bin/rasa
PIP_INSTALL_FLAGS := --quiet --disable-pip-version-check
TRAINING_INPUTS := $(shell find $(RASA_DATA) bot/nlu bot/generated -type f \( -name '*.yml' -o -name '*.json' -o -name '*.py' \) -not -path '*/__pycache__/*' 2>/dev/null) config.yml domain.yml

.PHONY: help env run run-production test shell kb kb-check generate train validate lint \
        typecheck kb-up-to-date test-actions test-bot test-stories test-stack test-production \
        test-browser bench bench-flat bench-nlu bench-triage tune-triage bench-conversation alerts erase \
        purge clean

# Every pytest run is in random order (pytest-randomly); the seed is printed, and
# `make <target> RANDOM_SEED=<seed>` repeats an order. PYTEST_ARGS is passed on (e.g. -k, -x).
ifndef RANDOM_SEED
RANDOM_SEED := $(shell od -An -N2 -tu2 /dev/urandom | tr -d ' ')
endif
PYTEST_ARGS ?=
PYTEST_OPTS = -q -p randomly --randomly-seed=$(RANDOM_SEED) $(PYTEST_ARGS)

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- environments
$(BOT_VENV)/.installed: bot/requirements.lock
	@py=$$(scripts/python310.sh) || exit 1; \
	echo "Creating $(BOT_VENV) with $$py (a few minutes the first time)"; \
	"$$py" -m venv $(BOT_VENV) && $(BOT_PY) -m pip install $(PIP_INSTALL_FLAGS) -r bot/requirements.lock
	@touch $@

$(ACT_VENV)/.installed: actions/requirements.lock
	@py=$$(scripts/python310.sh) || exit 1; \
	echo "Creating $(ACT_VENV) with $$py"; \
	"$$py" -m venv $(ACT_VENV) && $(ACT_PY) -m pip install $(PIP_INSTALL_FLAGS) -r actions/requirements.lock
	@touch $@

env: $(BOT_VENV)/.installed $(ACT_VENV)/.installed  ## create both Python environments

# ---------------------------------------------------------------- knowledge base
kb-check: $(ACT_VENV)/.installed  ## validate the KB YAML (KB_DIR=... another copy) and find patient text in code
	@$(ACT_PY) -m actions.kb.cli check "$(KB_DIR)"
	@$(ACT_PY) -m actions.kb.literals

kb: $(ACT_VENV)/.installed  ## validate, load the KB into KB_DATABASE_URL, write $(DATA_DIR)/generated
	@umask 077 && mkdir -p $(DATA_DIR) && $(ACT_PY) -m actions.kb.cli build "$(KB_DIR)"

generate: $(ACT_VENV)/.installed  ## rewrite the files derived from the KB (domain.yml, rules, vocabulary)
	@$(ACT_PY) -m actions.kb.cli generate "$(KB_DIR)"

# ---------------------------------------------------------------- model
models/.trained: $(BOT_VENV)/.installed $(TRAINING_INPUTS)
	@mkdir -p models
	$(RASA) train --config config.yml --domain domain.yml --data $(RASA_DATA) --out models --fixed-model-name rhizotomy-assistant
	@touch $@

train: models/.trained  ## train the model (only when data, domain or config changed)

validate: $(BOT_VENV)/.installed  ## rasa data validate --fail-on-warnings
	$(RASA) data validate --config config.yml --domain domain.yml --data $(RASA_DATA) --fail-on-warnings --max-history 5

# ---------------------------------------------------------------- run
run: env kb train  ## start the action server and Rasa on 127.0.0.1; Ctrl-C stops everything
	@scripts/run_stack.sh

shell: env kb train  ## talk to the assistant in the terminal (starts the action server too)
	@scripts/run_stack.sh --shell

run-production:  ## production profile: PostgreSQL, Redis locks, action-server token (README)
	@$(MAKE) --no-print-directory run PROFILE=production

# ---------------------------------------------------------------- privacy
erase: $(ACT_VENV)/.installed  ## erase one conversation: CONVERSATION=<id> (or PHONE=+E164); audited
	@if [ -n "$(PHONE)" ]; then $(ACT_PY) scripts/erase.py --phone "$(PHONE)"; \
	elif [ -n "$(CONVERSATION)" ]; then $(ACT_PY) scripts/erase.py --conversation "$(CONVERSATION)"; \
	else echo "usage: make erase CONVERSATION=<conversation id>  (or PHONE=+34600000001)" >&2; exit 2; fi

purge: $(ACT_VENV)/.installed  ## delete conversations idle for more than DAYS days (default 90); audited
	@$(ACT_PY) scripts/purge.py --days "$(or $(DAYS),90)"

# ---------------------------------------------------------------- quality
# `make test` (scripts/run_tests.sh, what CI runs) is these targets in order; nothing here
# is defined twice.
lint: env  ## ruff on both environments
	$(ACT_VENV)/bin/ruff check actions common tests scripts rasa_sdk_plugins bench privacy \
	  --exclude tests/bot,tests/browser,tests/stack
	$(BOT_VENV)/bin/ruff check bot tests/bot tests/browser tests/stack

typecheck: env  ## mypy, each package in its own environment
	$(ACT_VENV)/bin/mypy actions common rasa_sdk_plugins privacy
	$(BOT_VENV)/bin/mypy bot

kb-up-to-date: $(ACT_VENV)/.installed  ## KB valid; derived files up to date; no patient text outside the KB
	$(ACT_PY) -m actions.kb.cli check data/kb
	$(ACT_PY) -m actions.kb.cli generate data/kb --check
	$(ACT_PY) -m actions.kb.literals

test-actions: env  ## pytest, action-server environment: set-up scripts, KB on SQLite and PostgreSQL
	@echo "pytest random order seed: $(RANDOM_SEED)"
	@url="$${TEST_POSTGRES_URL:-$$(scripts/test_services.sh postgres)}" || exit 1; \
	export TEST_POSTGRES_URL="$$url" REQUIRE_POSTGRES=1; \
	$(ACT_PY) -m pytest tests/setup tests/kb tests/actions tests/plan tests/data $(PYTEST_OPTS)

test-bot: env kb  ## pytest in the Rasa environment (NLU components, channels)
	@echo "pytest random order seed: $(RANDOM_SEED)"
	$(BOT_PY) -m pytest tests/bot $(PYTEST_OPTS)

test-stories: train  ## end-to-end test stories against the trained model
	$(RASA) test core --stories tests/stories --model models/rhizotomy-assistant.tar.gz --fail-on-prediction-errors --e2e --out results/stories

test-stack: env kb train  ## safety end to end: Rasa alone, and faults injected into the `make run` stack
	@echo "pytest random order seed: $(RANDOM_SEED)"
	$(BOT_PY) -m pytest tests/stack $(PYTEST_OPTS)

test-production: env kb train  ## production-mode tests: PostgreSQL, Redis, restarts, failures, fuzzing
	@echo "pytest random order seed: $(RANDOM_SEED)"
	@pg="$${TEST_POSTGRES_URL:-$$(scripts/test_services.sh postgres)}" || exit 1; \
	redis="$${TEST_REDIS_URL:-$$(scripts/test_services.sh redis)}" || exit 1; \
	export TEST_POSTGRES_URL="$$pg" TEST_REDIS_URL="$$redis"; \
	$(BOT_PY) -m pytest tests/production $(PYTEST_OPTS)

test-browser: env kb train  ## the website chat and SMS in Debian's Chromium against the real stack
	@echo "pytest random order seed: $(RANDOM_SEED)"
	@scripts/test_services.sh chromium >/dev/null
	@scripts/test_services.sh npm >/dev/null
	@[ -d node_modules/axe-core ] || npm ci --no-audit --no-fund --silent
	$(BOT_PY) -m pytest tests/browser $(PYTEST_OPTS)

test: env  ## everything CI runs (scripts/run_tests.sh): each target above, in order
	@scripts/run_tests.sh

bench: env kb train  ## load test (1/10/50 conversations) against Rasa's default pipeline, 600-turn latency ratio, burst drain: bench/results
	@$(BOT_PY) bench/bench.py

bench-flat: env kb train  ## only the 600-turn latency ratio, neighbours and burst drain: bench/results/flat_latency.json
	@$(BOT_PY) bench/bench.py --flat-only

bench-nlu: env  ## NLU on the dev and held-out sets per language (CANDIDATES=1: + alternatives)
	@$(BOT_PY) scripts/bench_nlu.py $(if $(CANDIDATES),--candidates)

bench-triage: $(BOT_VENV)/.installed  ## safety triage on the held-out test sets: recall, false alarms (bench/results/triage.json)
	@$(BOT_PY) scripts/bench_triage.py

bench-conversation: env kb train  ## scenario suites (eval/conversations) against the running stack: bench/results/conversation.json
	@$(BOT_PY) scripts/bench_conversation.py

tune-triage: $(BOT_VENV)/.installed  ## tune the triage classifier's thresholds on the dev set (never the test sets)
	@$(BOT_PY) scripts/tune_triage.py

# ---------------------------------------------------------------- staff
alerts: $(BOT_VENV)/.installed  ## list safety alerts, newest first (LIMIT=50): time, level, category, conversation
	@$(BOT_PY) -m bot.safety.alerts list --limit "$(or $(LIMIT),50)"

clean:  ## remove generated state (environments are kept)
	rm -rf models results .data
