# The verbs a newcomer needs. `make run` and `make test` do everything from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := $(shell cat .python-version)
PYTHON ?= $(shell pyenv which python$(PYTHON_VERSION) 2>/dev/null || command -v python$(PYTHON_VERSION))
VENV := .venv
BIN := $(VENV)/bin
MODEL := models/hfs.tar.gz
TRAINING_INPUTS := config.yml $(shell find domain data -name '*.yml') $(wildcard bot/nlu/*.py)
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: help install train run shell eval lint test test-deps validate clean lock doc-screenshots
.PHONY: run-prod prod-deps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt constraints.txt .python-version
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/pip check
	touch $@

install: $(BIN)/.installed  ## create .venv (Python 3.10) from the pinned requirements

$(MODEL): $(BIN)/.installed $(TRAINING_INPUTS)
	$(BIN)/python -m bot.train --config config.yml --domain domain --data data --out models --fixed-model-name hfs
	touch $@

train: $(MODEL)  ## train the model into models/ (only when data or config changed)

run: $(MODEL)  ## start the action server, Rasa (port 5005) and the coordinator console (8000)
	$(BIN)/python -m bot.cli run

run-prod: $(MODEL) prod-deps  ## production topology here: HAProxy, 2 Rasa, 2 action servers, PostgreSQL, Redis
	$(BIN)/python -m bot.prod

prod-deps:  ## what `make run-prod` needs beyond .venv: HAProxy (Debian's package)
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }

shell: $(MODEL)  ## talk to the bot in the terminal
	$(BIN)/python -m bot.cli shell

# DIET trains for 20+ minutes here: `make eval CANDIDATES="linear-svm rasa-logreg diet-50ep-1layer"`
CANDIDATES ?= linear-svm rasa-logreg
eval: $(BIN)/.installed  ## compare NLU pipelines on the held-out split (tests/nlu/), per language
	$(BIN)/python -m bot.evaluation --candidates $(CANDIDATES)

validate: $(BIN)/.installed  ## rasa data validate, failing on warnings too
	$(BIN)/python -m bot.validate

lint: $(BIN)/.installed  ## ruff and mypy
	$(BIN)/ruff check bot actions tests bench
	$(BIN)/ruff format --check bot actions tests bench
	$(BIN)/mypy bot actions

AXE := tests/.npm/node_modules/axe-core/axe.min.js

test-deps: $(BIN)/.installed $(AXE) prod-deps  ## what the tests need: headless Chromium, axe-core
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# axe-core (accessibility audits in the browser tests), git-ignored, not a runtime dependency
$(AXE):
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm install --no-save --no-audit --no-fund --prefix tests/.npm axe-core@4

test: test-deps $(MODEL) validate  ## run every test (unit, integration, browser, conversations, NLU gate)
	$(BIN)/python -m pytest -q
	$(BIN)/rasa test core --model $(MODEL) --stories tests/test_conversations.yml --fail-on-prediction-errors --out results/conversations

lock:  ## refresh constraints.txt from the current venv (after changing requirements.txt)
	{ echo "# Full lock of every installed package (pip freeze of one resolver pass). Regenerate with \`make lock\`."; $(BIN)/pip freeze; } > constraints.txt

clean:  ## remove models, results and local databases
	rm -rf models results *.db tests/artifacts tests/.npm

.PHONY: review-sheet
review-sheet: $(BIN)/.installed  ## regenerate docs/medical-review.md (the clinic's medical review sheet)
	$(BIN)/python -m bot.review_sheet

# Benchmarks and deploy/ validation
.PHONY: bench deploy-validate
TOOLS_VENV := .venv-tools
KUBERNETES_VERSIONS ?= 1.30.0 1.37.0

bench: $(MODEL) prod-deps  ## latency by conversation length, by concurrency, then load: embedded vs run-prod (bench/)
	$(BIN)/python bench/conversation_length.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/load.py

# The validators live in their own venv (never .venv): pinned in deploy/requirements-validate.txt.
$(TOOLS_VENV)/.installed: deploy/requirements-validate.txt .python-version
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))"; exit 1; }
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --disable-pip-version-check -r deploy/requirements-validate.txt
	touch $@

deploy-validate: $(TOOLS_VENV)/.installed  ## validate deploy/: Kubernetes schemas (strict), compose-spec
	for version in $(KUBERNETES_VERSIONS); do \
	  $(TOOLS_VENV)/bin/kubernetes-validate --strict --quiet -k $$version deploy/kubernetes/*.yaml || exit 1; \
	  echo "deploy/kubernetes: valid for Kubernetes $$version (strict)"; \
	done
	$(TOOLS_VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml

doc-screenshots:  ## copy the browser tests' screenshots (tests/artifacts/) into docs/images/
	mkdir -p docs/images/coordinators docs/images/widget
	cp tests/artifacts/console-*.png docs/images/coordinators/
	-cp tests/artifacts/flow-*.png docs/images/coordinators/ 2>/dev/null
