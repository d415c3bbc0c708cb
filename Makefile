# Two commands: `make run` and `make test` (README.md).
# The first Python that oso 0.27 supports (3.11 or 3.12; pyenv shims may exist but not run).
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
  $$p -c 'import sys; assert (3, 11) <= sys.version_info[:2] < (3, 13)' >/dev/null 2>&1 \
  && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# WeasyPrint needs Pango, and warns (an error under our pytest settings) without HarfBuzz's
# subsetter; the subsetter is the stamp, so a machine with Pango but not it still gets it.
PANGO := /usr/lib/x86_64-linux-gnu/libharfbuzz-subset.so.0
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite test-postgres lint chromium bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Caseroom needs Python 3.11 or 3.12 (oso 0.27 has no wheel for 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	touch $@

# The browser's code is built, not pasted: npm ci installs exactly package-lock.json and
# esbuild bundles static/src/ into static/build/ (not in the repository).
# One esbuild run makes both bundles: caseroom-files.js (keys, encrypted files) and
# caseroom-plan.js (the co-edited plan, Yjs).
JS_BUNDLES := static/build/caseroom-files.js static/build/caseroom-plan.js
$(JS_BUNDLES) &: package.json package-lock.json $(wildcard static/src/*.js static/src/*.mjs static/src/plan/*.js)
	@command -v npm >/dev/null || { echo "Caseroom's browser code needs Node.js 20 and npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build

install: $(STAMP) $(JS_BUNDLES) $(PANGO)

run: install
	$(BIN)/caseroom init
	$(BIN)/caseroom demo
	@echo "Caseroom on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(BIN)/caseroom serve --host $(HOST) --port $(PORT)

# A plan's PDF is drawn by WeasyPrint, which needs Pango; as root we install it when missing.
$(PANGO):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; \
	else echo "PDFs need Pango: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"; exit 1; fi

# Browser tests use Debian's Chromium; as root we install it when it is missing.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Each suite has a temporary directory of its own in this checkout, so the two suites (and
# two checkouts) can run side by side: pytest empties its --basetemp when it starts.
TEST_TMP ?= $(CURDIR)/.test-tmp

test-sqlite: install chromium
	mkdir -p $(TEST_TMP)
	$(BIN)/pytest -q --basetemp=$(TEST_TMP)/sqlite

test-postgres: install
	mkdir -p $(TEST_TMP)
	CASEROOM_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -m "not browser" --basetemp=$(TEST_TMP)/postgres

# The two suites run at once: each spends half its time waiting (on browsers, servers,
# sockets, PostgreSQL), and they share nothing (each test has its own database, and Redis
# keys and channels are prefixed by it). Each suite's output is printed whole when it ends.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

bench: install
	$(BIN)/python bench/policy_and_audit.py

clean:
	rm -rf $(VENV) var .test-tmp .pytest_cache .mypy_cache .ruff_cache node_modules static/build
