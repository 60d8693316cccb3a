# The two commands: `make up` (set up and start the workbench with a demo workspace) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
VENDOR := src/townhall/core/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= $(TOWNHALL_TEST_DATABASE_URL)

.PHONY: up test setup assets lint check-types pytest pytest-postgres bench clean

up: setup
	$(BIN)/townhall demo --host $(HOST):$(PORT)
	$(BIN)/townhall serve --host $(HOST) --port $(PORT)

test: setup browser peers lint check-types pytest pytest-postgres

setup: $(VENV)/.installed assets

$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[test]"
	touch $@

assets: $(VENDOR)/htmx.min.js $(VENDOR)/chart.umd.js

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/htmx.min.js $(VENDOR)/chart.umd.js: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.js $(VENDOR)/

# The real network servers the connector tests run against (Synapse, WordPress, the Bluesky dev stack).
.PHONY: peers
peers:
	@for script in tests/peers/install_*.sh; do [ -e "$$script" ] || continue; echo "== $$script"; bash "$$script" || exit 1; done

.PHONY: browser
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

check-types:
	$(BIN)/mypy src

pytest:
	TOWNHALL_TESTING=1 TOWNHALL_DATABASE_URL= $(BIN)/pytest -q

pytest-postgres:
	@if [ -n "$(PG_TEST_URL)" ]; then \
		echo "== the same suite on PostgreSQL ($(PG_TEST_URL))"; \
		TOWNHALL_TESTING=1 TOWNHALL_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q; \
	else echo "TOWNHALL_TEST_DATABASE_URL is not set: PostgreSQL run skipped"; fi

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
