# The two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt | sha1sum | cut -c1-12)

.PHONY: help install tools run serve test lint migrate seed schema docs clean mcp-tools-doc

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies (idempotent)

# Test-only Node tools for /mcp/ (Node 22 from the npm package node@22, the MCP conformance
# suites, the Inspector CLI), pinned by tools/package-lock.json into git-ignored tools/node_modules.
TOOLS_STAMP := tools/node_modules/.installed-$(shell sha1sum tools/package-lock.json | cut -c1-12)
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund
	@rm -f tools/node_modules/.installed-*; touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP) ## Install the Node tools for the MCP interop tests (idempotent)

run: install ## Install, migrate, seed demo data, print the login, start web + worker + beat
	PORT=$(PORT) ./scripts/run.sh

serve: install ## The web server alone on 127.0.0.1:$(PORT) (gunicorn, for load tests)
	$(VENV)/bin/gunicorn -c config/gunicorn.conf.py config.wsgi:application -b 127.0.0.1:$(PORT) -w 2 --threads 4

lint: install ## ruff, import layering, migrations in sync
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run >/dev/null

test: install tools lint ## Install, lint, check migrations, run the whole test suite
	$(VENV)/bin/pytest -p no:cacheprovider

# In `make test` (and so CI) a missing Node tool fails the MCP interop tests instead of skipping them.
test: export MCP_REQUIRE_NODE_TOOLS := 1

migrate: install ## Apply the migrations to the configured database
	$(PY) manage.py migrate

seed: install ## Create the demo data (idempotent)
	$(PY) manage.py seed_demo

schema: install ## Regenerate the committed OpenAPI schema (docs/schema.yml)
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py spectacular --file docs/schema.yml --validate --fail-on-warn

docs: install schema ## Regenerate docs/schema.yml, the tables of docs/SECURITY.md and README's MCP tool list
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py security_doc
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py mcp_tools --write-readme

mcp-tools-doc: install ## Print the README's MCP tool list, generated from the registry
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py mcp_tools

clean: ## Remove the SQLite database, broker folder and caches (keeps .venv)
	rm -rf var/ .pytest_cache .ruff_cache
