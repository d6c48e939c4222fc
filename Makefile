# Two entry points: `make run` starts every service in one process,
# `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck install system-deps schema-deps console-deps console-build settings-docs

$(BIN)/wf: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/wf

run: install
	$(BIN)/wf serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# docs/settings.md from the settings declarations (a test fails when it drifts).
settings-docs: install
	$(BIN)/python -m controller.settings_catalog > docs/settings.md

system-deps:
	bash scripts/install-system-deps

# @grafana/schema and typescript for the dashboard schema check (tests/dashboards),
# from the committed lock file. Node and npm come with the machine image.
SCHEMA_CHECK := dashboards/schema-check
$(SCHEMA_CHECK)/node_modules/.package-lock.json: $(SCHEMA_CHECK)/package-lock.json
	cd $(SCHEMA_CHECK) && npm ci --no-audit --no-fund

schema-deps: $(SCHEMA_CHECK)/node_modules/.package-lock.json

# The web console's TypeScript, uPlot and esbuild, from the committed lock file.
# The built bundle (controller/console/static/) is committed, so `make run`
# needs no Node.js; tests/console/test_bundle.py rebuilds it and compares.
CONSOLE_FRONTEND := controller/console/frontend
$(CONSOLE_FRONTEND)/node_modules/.package-lock.json: $(CONSOLE_FRONTEND)/package-lock.json
	cd $(CONSOLE_FRONTEND) && npm ci --no-audit --no-fund

console-deps: $(CONSOLE_FRONTEND)/node_modules/.package-lock.json

# After changing controller/console/frontend/src: rebuild the committed bundle.
console-build: console-deps
	cd $(CONSOLE_FRONTEND) && npm run build

test: install system-deps schema-deps console-deps lint typecheck
	$(BIN)/pytest
