# Two entry points: `make run` starts every service in one process,
# `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck install system-deps schema-deps console-deps console-build settings-docs fuzz chart-files chart-docs

# The install compiles the routing loop (setup.py), so it is redone when the
# loop's sources change; the last line says whether it is compiled or fell back.
$(BIN)/wf: pyproject.toml setup.py logger/route_loop.py logger/lines.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m logger.routing
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

# Coverage-guided fuzzing of the forward decoder and handshake, longer than
# the few seconds `make test` gives it (tests/unit/test_forward_coverage_fuzz.py).
# Finds go to a scratch directory; `-merge=1 fuzz/corpus/forward DIR` keeps them.
FUZZ_RUNS ?= 2000000
fuzz: install
	mkdir -p .fuzz-findings
	$(BIN)/python -m fuzz.forward -runs=$(FUZZ_RUNS) .fuzz-findings
	$(BIN)/python -m fuzz.forward --slowest .fuzz-findings fuzz/corpus/forward

# The Helm chart's files/ (Fluent Bit config, dashboards, rules) from the
# generators, and its README from the values (tests/charts/ fail on drift).
chart-files: install
	$(BIN)/python -m chartgen.assets

chart-docs: install
	$(BIN)/python -m chartgen.readme > charts/workflow-observability/README.md

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

# The decode-route-store tests once more with the pure-Python routing loop
# (the whole suite above runs the compiled one when it was built).
PURE_PYTHON_TESTS := \
	tests/unit/test_forward_protocol.py tests/unit/test_forward_fuzz.py \
	tests/unit/test_forward_time_forms.py tests/unit/test_routing.py \
	tests/unit/test_routing_twins.py tests/unit/test_route_wire.py tests/unit/test_lines.py \
	tests/unit/test_app_metrics.py \
	tests/unit/test_store.py tests/unit/test_api_follow.py tests/controller/test_app_names.py \
	tests/integration/test_forward_server.py tests/integration/test_forward_hostile_records.py

test: install system-deps schema-deps console-deps lint typecheck
	$(BIN)/pytest
	WF_PURE_PYTHON=1 $(BIN)/pytest $(PURE_PYTHON_TESTS)
