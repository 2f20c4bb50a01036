# Export Courier — every target bootstraps .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint unit bench chaos package lock dist services sandbox clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev]'
	@touch $@

demo: $(STAMP)
	$(BIN)/courier demo

services:
	bash .ci/services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The suite mostly waits (on servers, sandboxes, subprocesses), so it runs in TEST_WORKERS
# processes (pytest-xdist), each test file whole in one of them so that its module fixtures
# are built once; TEST_WORKERS=0 runs it in one process. The 15 slowest tests are listed.
TEST_WORKERS ?= 4

test: $(STAMP) services lint
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=15

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP) services
	bash bench/run.sh

# The standing fault-injection run (bench/chaos/): ≤ 15 minutes; CHAOS_SCALE=0.1 for a quick look.
chaos: $(STAMP) services
	timeout --kill-after=30 1000 $(BIN)/python -m bench.chaos

package: $(STAMP)
	$(BIN)/python deploy/package.py --target scf --target lambda $(PACKAGE_ARGS)

# The lock files the packages install from (deploy/locks/); LOCK_ARGS=--upgrade: newest versions.
lock: $(STAMP)
	$(BIN)/python deploy/lock.py $(LOCK_ARGS)

# The CLI's wheel and sdist in dist/, for `pipx install` (docs/development.md).
dist: $(STAMP)
	$(BIN)/python -m build --outdir dist .

sandbox: $(STAMP)
	$(BIN)/courier sandbox

clean:
	rm -rf .courier dist .pytest_cache .mypy_cache .ruff_cache
