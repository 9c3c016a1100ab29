# The README's two commands: `make demo` and `make test`. Each sets itself up from nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared/testdata
# `make fuzz`: every harness in fuzz/ for FUZZ_SECONDS each (docs/reliability.md)
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
# system packages the tests need beyond the core's: Debian's chromium for the review UI's
# browser test (tests/web/test_browser.py). Installed by `make test` when missing and run as
# root (scripts/bootstrap.sh); `make demo` needs none of them.
TEST_APT_PACKAGES ?= chromium

.PHONY: demo test lint typecheck unit bench fuzz setup test-setup clean

setup:
	@bash scripts/bootstrap.sh

test-setup: setup
	@NEEDLE_APT_PACKAGES="$${NEEDLE_APT_PACKAGES:-} $(TEST_APT_PACKAGES)" bash scripts/bootstrap.sh
	@# the `ray` extra (not in `all`): tests/pipeline/test_ray_scan.py starts a cluster with it
	@$(PY) -c "import ray" 2>/dev/null || $(PY) -m pip install -q -e ".[ray]"

demo: setup
	$(PY) -m needle.demo --out demo-out

lint: setup
	$(VENV)/bin/ruff check src tests bench fuzz
	$(VENV)/bin/ruff format --check src tests bench fuzz

typecheck: setup
	$(VENV)/bin/mypy

unit: test-setup
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
	  export NEEDLE_TEST_PG=$${NEEDLE_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres}; \
	  echo "PostgreSQL answers: storage tests run on it too ($$NEEDLE_TEST_PG)"; \
	fi; \
	if command -v cc >/dev/null && [ "$${NEEDLE_COMPILE:-1}" != 0 ]; then export NEEDLE_EXPECT_COMPILED=1; fi; \
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck unit

bench: setup
	$(PY) bench/run_all.py

fuzz: setup
	$(PY) fuzz/runner.py --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) $(FUZZ_HARNESSES)

clean:
	rm -rf $(VENV) demo-out needle.db test-artifacts .mypy_cache .ruff_cache .pytest_cache fuzz/seeds
