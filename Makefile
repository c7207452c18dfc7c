# aihub: `make run` serves on the embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: run test check lint typecheck migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(UV) pip install --quiet --python $(BIN)/python -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(UV) pip install --quiet --python $(BIN)/python -e ".[test]"
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	@echo "aihub on http://$${AIHUB_HOST:-127.0.0.1}:$${AIHUB_PORT:-8000} (docs at /docs)."
	@echo "Admin credentials: AIHUB_ADMIN_EMAIL/AIHUB_ADMIN_PASSWORD if set, otherwise" \
	      "generated on first start into $${AIHUB_DATA_DIR:-data}/admin_credentials.txt"
	$(BIN)/aihub serve

migrate: $(VENV)/.installed
	$(BIN)/aihub migrate

test: $(VENV)/.installed-test
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
