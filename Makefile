# The README's two commands: `make demo` and `make test`. Each sets itself up from nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared/testdata

.PHONY: demo test lint typecheck unit bench setup clean

setup:
	@bash scripts/bootstrap.sh

demo: setup
	$(PY) -m needle.demo --out demo-out

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
	  export NEEDLE_TEST_PG=$${NEEDLE_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres}; \
	  echo "PostgreSQL answers: storage tests run on it too ($$NEEDLE_TEST_PG)"; \
	fi; \
	if command -v cc >/dev/null && [ "$${NEEDLE_COMPILE:-1}" != 0 ]; then export NEEDLE_EXPECT_COMPILED=1; fi; \
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck unit

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) demo-out needle.db .mypy_cache .ruff_cache .pytest_cache
