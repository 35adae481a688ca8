# Gridcase. `make run` serves the demo city; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
# load_demo options for `make run`, e.g. DEMO_ARGS="--weeks 26 --per-week 1500" (README, "The demo city").
DEMO_ARGS ?=
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/gridcase
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0
# Where the suite keeps its files (SQLite test database, media, static); override to run two suites at once.
TEST_DIR ?= $(CURDIR)/var/test
# The suite runs in production mode (DEBUG off) with a test-only key and hosts.
TEST_ENV := DEBUG=0 SECRET_KEY=test-only-secret-key-0123456789abcdef0123456789 \
	ALLOWED_HOSTS=testserver,localhost,127.0.0.1 HTTPS=0 STATIC_MANIFEST=0 GRIDCASE_FAST_HASHER=1 \
	GRIDCASE_DATA_DIR=$(TEST_DIR) SQLITE_TEST_NAME=$(TEST_DIR)/gridcase-test.sqlite3

.PHONY: run test lint format test-sqlite test-postgres install migrate demo demo-fixture bench clean system-deps report-fonts

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Gridcase needs Python 3.11 ($(PYTHON) not found)."; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Development settings for commands run by hand: manage.py reads .env (never with DEBUG=0 in the
# environment). Written once, on the first `make run`; git-ignored; edit or delete it freely.
.env:
	@{ echo "# Written by 'make run' on its first start: the development settings 'make run' uses, read by"; \
	   echo "# manage.py for commands run by hand (never when DEBUG=0 is in the environment). Not committed."; \
	   echo "DEBUG=1"; echo "GRIDCASE_DEMO=1"; \
	   if [ -n "$$GRIDCASE_DATA_DIR" ]; then echo "GRIDCASE_DATA_DIR=$$GRIDCASE_DATA_DIR"; fi; } > $@
	@echo "Wrote .env (DEBUG=1, GRIDCASE_DEMO=1$${GRIDCASE_DATA_DIR:+, GRIDCASE_DATA_DIR=$$GRIDCASE_DATA_DIR}): commands run by hand use the same settings as make run."

# The data folder (GRIDCASE_DATA_DIR, default var/) is created by the settings wherever it is.
migrate: install .env
	DEBUG=1 $(PY) manage.py migrate --noinput

# Chinese fonts for the PDF reports (fonts-noto-cjk), installed the way `make test` installs its
# system packages: with apt-get when run as root, else the command to run is printed. A report that
# failed for a missing font is built again once the font is there (reports/jobs.py).
report-fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q .; then echo "Chinese fonts for the PDF reports: installed."; \
	elif [ "$$(id -u)" = 0 ]; then echo "Installing fonts-noto-cjk (Chinese fonts for the PDF reports)…"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null \
		  && echo "Installed fonts-noto-cjk."; } || echo "Could not install fonts-noto-cjk: PDF reports wait for it."; \
	else echo "PDF reports need Chinese fonts: sudo apt-get install fonts-noto-cjk (reports wait for it, then build)."; fi

# load_demo migrates first (one Python start less than `make migrate` then load_demo).
run: install .env report-fonts
	DEBUG=1 GRIDCASE_DEMO=1 $(PY) manage.py load_demo --migrate $(DEMO_ARGS)
	DEBUG=1 GRIDCASE_DEMO=1 $(PY) manage.py serve --host $(HOST) --port $(PORT)

# Rebuild fixtures/demo/history.json.xz, the demo history `make run` restores (backend/demo_fixture.py):
# a fresh database in a scratch folder, the history built through the workflow with load_demo's
# default options, ending at today's midnight. Run it when tests/test_demo_fixture.py says so.
demo-fixture: install
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	export DEBUG=1 GRIDCASE_DEMO=1 GRIDCASE_DATA_DIR=$$scratch DATABASE_URL= && \
	$(PY) manage.py migrate --noinput >/dev/null && \
	$(PY) manage.py load_demo --write-fixture fixtures/demo/history.json.xz

# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded), Noto
# CJK, the Chinese fonts the PDF reports embed and the screenshots show, and nginx, the front of
# the scaled topology (deploy/topology.py; without it a Python proxy stands in).
system-deps:
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh | grep -q . || ! command -v nginx >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk nginx-light >/dev/null; \
		else echo "Browser tests, PDF reports and the topology's front need: sudo apt-get install chromium fonts-noto-cjk nginx-light"; fi; \
	fi

test: install lint system-deps test-sqlite test-postgres

# ruff's lint and format check over the whole tree (rules: pyproject.toml [tool.ruff]); a finding
# fails `make test` and so CI. `make format` applies the formatter and the safe fixes.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-sqlite: install
	mkdir -p $(TEST_DIR)/static
	$(TEST_ENV) REDIS_URL= $(PY) -m pytest $(PYTEST_ARGS)

# Every database test again on PostgreSQL. Skipped with a message when no server answers,
# except under CI=true, where it must run.
test-postgres: install
	mkdir -p $(TEST_DIR)/static
	@if $(PY) bench/service_up.py postgres "$(PG_TEST_URL)"; then \
		$(TEST_ENV) DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -m "not browser" $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then echo "CI: PostgreSQL at $(PG_TEST_URL) is required and not reachable."; exit 1; \
	else echo "SKIPPED: PostgreSQL tests (no server at $(PG_TEST_URL))"; fi

bench: install
	$(PY) bench/locate.py

# Every benchmark, one table (quick sizes; BENCH_ARGS=--full for 1M cases). Needs PostgreSQL and Redis.
.PHONY: bench-all
bench-all: install
	$(PY) bench/all.py $(BENCH_ARGS)

# The long reliability budgets (the tests marked `long` in tests/reliability/, docs/reliability.md):
# schemathesis and import fuzzing with many examples, a 10 s Redis outage, 50 SQLite writers × many
# rounds, 1,000 creates while gunicorn workers are killed. Prints FIGURES lines. The quick tests of
# tests/reliability/ run in every `make test`.
reliability: install
	mkdir -p $(TEST_DIR)/static
	$(TEST_ENV) REDIS_URL= GRIDCASE_RELIABILITY=1 $(PY) -m pytest tests/reliability -m long -s -p no:logging $(PYTEST_ARGS)

clean:
	rm -rf var/test .pytest_cache
