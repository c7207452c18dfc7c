# aihub: `make run` serves on the embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: run test test-fault check lint typecheck migrate bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(UV) pip install --quiet --python $(BIN)/python -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null \
	  && ldconfig -p | grep -q libopus.so.0 || $(MAKE) --no-print-directory system-deps
	$(UV) pip install --quiet --python $(BIN)/python -e ".[test,voice-local]"
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	@echo "aihub on http://$${AIHUB_HOST:-127.0.0.1}:$${AIHUB_PORT:-8000} (docs at /docs)."
	@echo "Admin credentials: AIHUB_ADMIN_EMAIL/AIHUB_ADMIN_PASSWORD if set, otherwise" \
	      "generated on first start into $${AIHUB_DATA_DIR:-data}/admin_credentials.txt"
	$(BIN)/aihub serve

migrate: $(VENV)/.installed
	$(BIN)/aihub migrate

# Two workers (pytest-xdist), each with its own database and Redis db; then,
# on PostgreSQL, the fault-injection suite (real processes, one at a time).
# Python may write its bytecode cache even where PYTHONDONTWRITEBYTECODE is set:
# every `aihub serve`/`aihub worker` a test starts would otherwise recompile.
TEST_WORKERS ?= 2
FAULT_DB = $(or $(AIHUB_TEST_DATABASE_URL),$(AIHUB_DATABASE_URL))
test: $(VENV)/.installed-test
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n $(TEST_WORKERS) --ignore=tests/fault
	@case "$(FAULT_DB)" in postgresql*) $(MAKE) --no-print-directory test-fault ;; \
	  *) echo "fault-injection suite not run: it needs PostgreSQL (AIHUB_DATABASE_URL)" ;; esac

# Kills processes and stops its own redis-server: see README, "Fault-injection suite".
test-fault: $(VENV)/.installed-test
	$(BIN)/pytest -n 0 -s tests/fault

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# The gateway against LiteLLM and the mock upstream, same run (see ../shared/bench).
BENCH_DIR ?= ../shared/bench
BENCH_DATA ?= /tmp/aihub-bench-data
BENCH_TARGETS ?= direct,litellm,aihub
bench: $(VENV)/.installed
	$(UV) pip install --quiet --python $(BIN)/python "matplotlib>=3.8"
	test -x /tmp/bench-venvs/tools/bin/python || (cd $(BENCH_DIR) && ./setup.sh)
	rm -rf $(BENCH_DATA) && mkdir -p $(BENCH_DATA)
	sed -e "s|@ROOT@|$(CURDIR)|g" -e "s|@DATA@|$(BENCH_DATA)|g" \
	    bench/targets.toml.in > $(BENCH_DATA)/targets.toml
	cd $(BENCH_DIR) && python3 compare.py --config $(BENCH_DATA)/targets.toml \
	    --targets $(BENCH_TARGETS) $(BENCH_ARGS)
	$(BIN)/python bench/chart.py $(BENCH_DIR)/results/latest.json bench/results.png

# The voice tests and benchmarks speak with espeak-ng, convert with sox and decode
# Opus with libopus: Debian packages, installed here when missing and possible.
system-deps:
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q espeak-ng sox libopus0 >/dev/null 2>&1 \
	  || (apt-get update -q >/dev/null && apt-get install -y -q espeak-ng sox libopus0); \
	else echo "please install espeak-ng, sox and libopus0 (Debian/Ubuntu packages)"; fi

check: lint typecheck test

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
