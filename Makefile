# Two commands for a fresh machine with Python 3.11+, pip and make:
#   make run    serve the gateway on http://127.0.0.1:8000 (SQLite, in-process worker, emulators)
#   make test   run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test lint venv clean

# Running needs only the package; tests and lint also need the dev extra. The installer is
# uv, put into the virtual environment by pip (it resolves and downloads in parallel, several
# times faster than pip on a cold cache); when it cannot be had, pip does the install.
# Bytecode is compiled as modules are first imported rather than for every file up front.
install = ( $(BIN)/python -m pip install --quiet --disable-pip-version-check uv >/dev/null 2>&1 \
	&& $(BIN)/uv pip install --quiet --python $(BIN)/python $(1) ) \
	|| $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile $(1)

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(call install,-e .)
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(call install,-e '.[dev]')
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

# Regenerate the Python client (clients/python) from the document the app serves.
.PHONY: client
client: $(STAMP)
	$(BIN)/python clients/python/generate.py --dump

clean:
	rm -rf $(VENV) gateway.db gateway.db-wal gateway.db-shm
