# Two entry points for a fresh machine (Python >= 3.11): `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo check test test-fast clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The project, its test tools, and BFCL's data (its wheel is only read as data, so its own deps are skipped).
install: $(BIN)/python
	$(BIN)/pip install -q -e ".[test,bench]"
	$(BIN)/pip install -q --no-deps "bfcl-eval==2026.3.23"

# The main job, offline, on the embedded local model (fetches its weights on first use).
demo: install
	$(BIN)/python -m betterharness

# The house rules: the layers of DESIGN.md's data flow (import-linter), the types (mypy, pydantic plugin)
# and the lint, docstrings on public objects included (ruff).
check: install
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ruff check betterharness tests benchmarks

# The checks, then every test, including the real local-model smoke test.
test: check
	$(BIN)/python -m pytest -q

# Everything but the slow real-model tests.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) outputs
