# Parcours — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
SEED   ?= 2025
SCALE  ?= 1.0

.PHONY: demo test install install-dev lint typecheck contracts pytest clean serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: install, migrate, build the demo region, serve on http://$(HOST):$(PORT)
demo: install
	$(BIN)/parcours db upgrade
	$(BIN)/parcours demo --seed $(SEED) --scale $(SCALE)
	@echo ""
	@echo "  Parcours : http://$(HOST):$(PORT)/"
	@echo "  Connexion de démonstration : admin.region / parcours-demo  (autres rôles : voir README)"
	@echo ""
	$(BIN)/parcours serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/parcours serve --host $(HOST) --port $(PORT)

## make test: ruff, mypy (strict on src/), import contracts, pytest (SQLite + PostgreSQL + browser)
test: install-dev lint typecheck contracts pytest

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck:
	$(BIN)/mypy

contracts:
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) parcours.db parcours.db-wal parcours.db-shm .pytest_cache .mypy_cache .ruff_cache
