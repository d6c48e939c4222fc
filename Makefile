# Two entry points: `make run` starts every service in one process,
# `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck install system-deps

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

system-deps:
	bash scripts/install-system-deps

test: install system-deps lint typecheck
	$(BIN)/pytest
