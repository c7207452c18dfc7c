# aihub: `make run` serves on the embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: run test test-fault test-cluster check lint typecheck migrate bench clean \
	system-deps web web-check bench-web screenshots e2e bench-hub soak

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

# The web app (web/, React + Vite) is built into src/aihub/web/dist and served at /.
# `make web` builds it when it is missing or older than web/ and Node 20+ is
# here; without Node it says how to get the app and aihub serves the API alone.
WEB_BUILD := src/aihub/web/dist/index.html
NODE_OK = command -v node >/dev/null && command -v npm >/dev/null \
	  && [ "$$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]
web:
	@if ! { $(NODE_OK); }; then \
	  echo "web app: Node 20+ and npm not found, so the API is served alone;" \
	       "install Node 20+ and run 'make web' to get the app at /"; \
	elif [ -f $(WEB_BUILD) ] && [ -z "$$(find web -path web/node_modules -prune \
	       -o -type f -newer $(WEB_BUILD) -print -quit)" ]; then \
	  echo "web app: build is up to date ($(WEB_BUILD))"; \
	else \
	  echo "web app: building (npm ci && npm run build in web/)"; \
	  cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] \
	    || npm ci --no-audit --no-fund --loglevel=error; } && npm run build; \
	fi

run: $(VENV)/.installed
	@$(MAKE) --no-print-directory web \
	  || echo "web app: the build failed (see above); serving the API alone"
	@echo "aihub on http://$${AIHUB_HOST:-127.0.0.1}:$${AIHUB_PORT:-8000} (docs at /docs)."
	@echo "Admin credentials: AIHUB_ADMIN_EMAIL/AIHUB_ADMIN_PASSWORD if set, otherwise" \
	      "generated on first start into $${AIHUB_DATA_DIR:-data}/admin_credentials.txt"
	$(BIN)/aihub serve

migrate: $(VENV)/.installed
	$(BIN)/aihub migrate

# Two workers (pytest-xdist), each with its own database and Redis db; then,
# on PostgreSQL, the fault-injection suite (real processes, one at a time).
# The browser tests (tests/e2e, marker e2e) need the built app and Debian's
# chromium: both are made here; PYTEST_ARGS='-m "not e2e"' leaves them out.
# Python may write its bytecode cache even where PYTHONDONTWRITEBYTECODE is set:
# every `aihub serve`/`aihub worker` a test starts would otherwise recompile.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
FAULT_DB = $(or $(AIHUB_TEST_DATABASE_URL),$(AIHUB_DATABASE_URL))
test: $(VENV)/.installed-test
	@[ -x /usr/bin/chromium ] || $(MAKE) --no-print-directory system-deps
	@$(MAKE) --no-print-directory web
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --ignore=tests/fault \
	  $(PYTEST_ARGS)
	@case "$(FAULT_DB)" in postgresql*) $(MAKE) --no-print-directory test-fault ;; \
	  *) echo "fault-injection suite not run: it needs PostgreSQL (AIHUB_DATABASE_URL)" ;; esac

# Kills processes and stops its own redis-server: see README, "Fault-injection suite".
test-fault: $(VENV)/.installed-test
	$(BIN)/pytest -n 0 -s tests/fault

# A local Redis Cluster (3 masters) and a Sentinel set-up, started and stopped
# by the run (see README, "Redis Cluster and Sentinel"): the cluster tests, then
# the Redis-backed suites on each, then (PostgreSQL only) the fault suite on the
# cluster. One pytest process: a cluster has one database for every worker.
CLUSTER_SUITES ?= tests/infra tests/chat/test_resume.py tests/chat/test_lifecycle.py \
	tests/chat/test_liveness.py tests/media/test_queue.py tests/media/test_lifecycle.py \
	tests/media/test_no_worker.py tests/gateway/test_limits.py tests/gateway/test_keys.py \
	tests/provider_keys/test_pool.py tests/voice/test_lifecycle.py tests/ops/test_ready.py
test-cluster: $(VENV)/.installed-test
	AIHUB_TEST_CLUSTER=1 $(BIN)/pytest -n 0 -p no:randomly tests/infra/test_redis_cluster.py
	$(BIN)/python -m tests.redis_cluster --modes cluster,sentinel -- -n 0 -q \
	  $(CLUSTER_SUITES) $(PYTEST_ARGS)
	@case "$(FAULT_DB)" in postgresql*) \
	  AIHUB_TEST_FAULT_REDIS=cluster $(BIN)/pytest -n 0 -s tests/fault ;; \
	  *) echo "fault-injection suite on the cluster not run: it needs PostgreSQL" ;; esac

# The browser tests alone; `make screenshots` also refreshes docs/screenshots.
e2e: $(VENV)/.installed-test web
	@[ -x /usr/bin/chromium ] || $(MAKE) --no-print-directory system-deps
	$(BIN)/pytest -n 0 -m e2e $(PYTEST_ARGS)

screenshots: e2e

# The web app in headless Chromium against a live aihub and the fake upstream.
bench-web: $(VENV)/.installed-test web
	@[ -x /usr/bin/chromium ] || $(MAKE) --no-print-directory system-deps
	$(BIN)/python bench/web_bench.py $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports
	@$(MAKE) --no-print-directory web-check

# The web app's own checks: Biome, tsc --noEmit and the Vitest suite.
web-check: web
	@if $(NODE_OK); then cd web && npm run --silent lint && npm test --silent; \
	else echo "web app: Node 20+ not found, its checks (biome, tsc, vitest) not run"; fi

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

# The people path (thread streams, first token, loading) of one aihub process on
# one core, SQLite and PostgreSQL + Redis, beside Open WebUI (installed into
# /tmp/bench-venvs/open-webui from PyPI on first use): see README, "Hub performance".
# HUB_BENCH_PG_URL / HUB_BENCH_REDIS_URL: a database it may drop, a Redis db it
# may flush. BENCH_ARGS='--quick' for a short check.
bench-hub: $(VENV)/.installed
	$(UV) pip install --quiet --python $(BIN)/python "matplotlib>=3.8"
	BENCH_DIR=$(abspath $(BENCH_DIR)) $(BIN)/python bench/hub_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/hub_chart.py bench/hub-results/latest.json bench/hub_results.png

# Resident memory of one aihub process over many gateway calls (SOAK_ARGS, e.g.
# '--requests 20000 --every 2000' for a short one).
soak: $(VENV)/.installed
	BENCH_DIR=$(abspath $(BENCH_DIR)) $(BIN)/python bench/soak.py $(SOAK_ARGS)

# The voice tests and benchmarks speak with espeak-ng, convert with sox and decode
# Opus with libopus; the browser tests drive chromium: Debian packages, installed
# here when missing and possible.
SYSTEM_PACKAGES := espeak-ng sox libopus0 chromium
system-deps:
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null 2>&1 \
	  || (apt-get update -q >/dev/null && apt-get install -y -q $(SYSTEM_PACKAGES)); \
	else echo "please install $(SYSTEM_PACKAGES) (Debian/Ubuntu packages)"; fi

check: lint typecheck test

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
