# Two commands for a fresh machine with Python 3.11+, pip and make:
#   make run    serve the gateway on http://127.0.0.1:8000 (SQLite, in-process worker, emulators)
#   make test   run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test lint venv clean

# Running needs only the package; tests and lint also need the dev extra. Bytecode is
# compiled as modules are first imported rather than for every installed file up front.
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

venv: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/gateway db upgrade
	$(BIN)/gateway serve

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check gateway providers tests migrations
	$(BIN)/mypy --strict gateway providers
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) gateway.db gateway.db-wal gateway.db-shm
