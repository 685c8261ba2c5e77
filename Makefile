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
        typecheck test-actions test-bot test-stories test-production bench bench-flat bench-nlu erase purge \
        clean

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
kb-check: $(ACT_VENV)/.installed  ## validate the KB YAML (KB_DIR=... to check another copy)
	@$(ACT_PY) -m actions.kb.cli check "$(KB_DIR)"

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
lint: env  ## ruff on both environments
	$(ACT_VENV)/bin/ruff check actions tests scripts
	$(BOT_VENV)/bin/ruff check bot

typecheck: env  ## mypy, each package in its own environment
	$(ACT_VENV)/bin/mypy actions
	$(BOT_VENV)/bin/mypy bot

test-actions: env  ## pytest in the action-server environment (SQLite and PostgreSQL)
	@scripts/test_services.sh postgres
	$(ACT_PY) -m pytest tests/actions tests/kb tests/plan tests/data -q

test-bot: env  ## pytest in the Rasa environment (NLU components, channels)
	$(BOT_PY) -m pytest tests/bot -q

test-stories: train  ## end-to-end test stories against the trained model
	$(RASA) test core --stories tests/stories --model models/rhizotomy-assistant.tar.gz --fail-on-prediction-errors --e2e --out results/stories

test-production: env kb train  ## production-mode tests: PostgreSQL, Redis, restarts, failures, fuzzing
	@scripts/test_services.sh postgres >/dev/null && scripts/test_services.sh redis >/dev/null
	$(BOT_PY) -m pytest tests/production -q

test: env  ## everything CI runs: lint, types, KB, unit tests, data validation, training, stories
	@scripts/run_tests.sh

bench: env kb train  ## load test (1/10/50 conversations) against Rasa's default pipeline, 600-turn latency ratio, burst drain: bench/results
	@$(BOT_PY) bench/bench.py

bench-flat: env kb train  ## only the 600-turn latency ratio, neighbours and burst drain: bench/results/flat_latency.json
	@$(BOT_PY) bench/bench.py --flat-only

bench-nlu: env  ## intent accuracy on the held-out sets (eval/nlu), per intent and language
	@$(BOT_PY) scripts/bench_nlu.py

clean:  ## remove generated state (environments are kept)
	rm -rf models results .data
