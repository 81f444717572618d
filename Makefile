# Two commands for a fresh machine with Python 3.11+, pip and make:
#   make run    serve the gateway on http://127.0.0.1:8000 (SQLite, in-process worker, emulators)
#   make test   run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test lint venv clean

# Running needs only the package; tests and lint also need the dev extra. The versions are those
# of uv.lock. The installer is uv, put into the virtual environment by pip: it syncs the environment
# to the lock (--locked: a lock that no longer matches pyproject.toml is an error; --inexact: what
# the lock does not name, uv itself among it, stays). When uv cannot be had, pip installs the same
# pins from requirements/*.txt, exported from the lock. Bytecode is compiled as modules are first
# imported rather than for every file up front.
# The environment is created without pip (ensurepip costs about 4 s of CPU, a tenth of the first
# run): the host's pip puts uv into it (pip --python, pip 22.3 or newer). Only when that pip cannot
# does ensurepip give the environment a pip of its own, which then installs uv, or everything.
new_venv = test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
pip = $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null
quiet_pip = --quiet --disable-pip-version-check
get_uv = $(PYTHON) -m pip --python $(BIN)/python install $(quiet_pip) uv >/dev/null 2>&1 \
	|| { $(pip) && $(BIN)/python -m pip install $(quiet_pip) uv >/dev/null 2>&1; }
install = if $(get_uv); then \
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --quiet --locked --inexact --python $(BIN)/python $(1); \
	else \
	$(pip) && $(BIN)/python -m pip install $(quiet_pip) --no-compile --no-deps -r $(2) \
	&& $(BIN)/python -m pip install $(quiet_pip) --no-compile --no-deps -e .; \
	fi

$(RUN_STAMP): pyproject.toml uv.lock
	$(new_venv)
	$(call install,,requirements/run.txt)
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml uv.lock
	$(new_venv)
	$(call install,--extra dev,requirements/dev.txt)
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

# The built-in emulators' state goes with the database: kept, it would hold records a new
# database knows nothing of.
clean:
	rm -rf $(VENV) gateway.db gateway.db-wal gateway.db-shm gateway.db.*-emulator.state \
		gateway.db.*-emulator.state.unreadable
