# The two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt | sha1sum | cut -c1-12)

.PHONY: help install bytecode tools browser static run serve test lint migrate seed schema docs clean mcp-tools-doc

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies (idempotent)

# Our own modules compiled once (pip already compiles the dependencies'). Where PYTHONDONTWRITEBYTECODE is set, as
# on our CI machines, nothing else writes them, and every process (a test's server, worker or manage.py, each
# xdist worker) compiled all of them again: about 2 s of a slow machine's CPU per process. compileall writes them
# whatever that variable says; stale files are recompiled by mtime, so the second run costs a second.
PACKAGES := $(patsubst %/__init__.py,%,$(wildcard */__init__.py))
bytecode: install ## Compile the project's modules to bytecode (quick when nothing changed)
	$(PY) -m compileall -q -j 0 $(PACKAGES) bench manage.py

# Test-only Node tools for /mcp/ (Node 22 from the npm package node@22, the MCP conformance
# suites, the Inspector CLI), pinned by tools/package-lock.json into git-ignored tools/node_modules.
TOOLS_STAMP := tools/node_modules/.installed-$(shell sha1sum tools/package-lock.json | cut -c1-12)
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	@rm -f tools/node_modules/.installed-*; touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP) ## Install the Node tools for the MCP interop tests (idempotent)

# The browser tests drive Debian's chromium through Playwright (a pinned dev dependency); a browser
# build of Playwright's own is never downloaded. Installed here when missing (needs root, as in CI);
# without it the browser tests fail rather than skip.
CHROMIUM := /usr/bin/chromium
browser: ## Install Debian's chromium for the browser tests when it is missing (apt-get, as root)
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      chromium fonts-liberation >/dev/null && $(CHROMIUM) --version; \
	  else echo "make browser: $(CHROMIUM) is missing: run 'apt-get install chromium' as root" >&2; fi; }

# WhiteNoise serves /static/ from STATIC_ROOT (default var/staticfiles) with hashed names from the
# manifest; nothing is served until this ran. Quick when nothing changed.
static: install ## Collect the static files (hashed, compressed) that the web server serves
	$(PY) manage.py collectstatic --noinput -v 0

run: install bytecode ## Install, migrate, seed demo data, print the login, start web + worker + beat
	PORT=$(PORT) ./scripts/run.sh

serve: install bytecode ## The web server alone on 127.0.0.1:$(PORT) (granian, WSGI: the production server)
	$(PY) -m config.serve --host 127.0.0.1 --port $(PORT)

lint: install ## ruff, import layering, types (mypy), migrations in sync
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	@mkdir -p var  # the SQLite file's folder: on a fresh clone makemigrations warns without it
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run >/dev/null

# Two pytest-xdist workers for the 2 cores; thread-heavy tests share one worker (tests/conftest.py).
# The ten slowest tests are listed above the summary, to watch CI's budget.
# PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
test: install bytecode tools browser lint ## Install, lint, check migrations, run the whole test suite
	$(VENV)/bin/pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup --durations=10

# In `make test` (and so CI) a missing Node tool fails the MCP interop tests instead of skipping them.
test: export MCP_REQUIRE_NODE_TOOLS := 1

# The production-style server serves its own static files: collect them first. (A rule of its own so
# the serve recipe above stays as it is.)
serve: static

migrate: install ## Apply the migrations to the configured database
	$(PY) manage.py migrate

seed: install ## Create the demo data (idempotent)
	$(PY) manage.py seed_demo

schema: install ## Regenerate the committed OpenAPI schema (docs/schema.yml)
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py spectacular --file docs/schema.yml --validate --fail-on-warn

docs: install schema ## Regenerate docs/schema.yml, the tables of docs/SECURITY.md and README's MCP tool list
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py security_doc
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py audit_doc
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py events_doc
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py dashboards_doc
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py mcp_tools --write-readme

mcp-tools-doc: install ## Print the README's MCP tool list, generated from the registry
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py mcp_tools

clean: ## Remove the SQLite database, broker folder and caches (keeps .venv)
	rm -rf var/ .pytest_cache .ruff_cache .mypy_cache
