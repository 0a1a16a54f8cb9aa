# The project's vocabulary. Two commands matter on a fresh machine: `make demo` and `make test`.
# Everything installs what it needs (PyPI via uv, Debian, Maven Central) into ignored folders.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
PY := .venv/bin/python
# uv itself is pinned and installed into an ignored bootstrap venv, whatever the machine has.
UV := .cache/bootstrap/bin/uv
STAMP := .venv/.synced
TEST_RECORD := .cache/run/started-by-test

PHONY_EXTRA := api worker relay sink media chaos chaos-long soak observe exporter
.PHONY: help install up down status demo test $(PHONY_EXTRA) test-unit test-integration lint format typecheck schemas openapi bench-sink bench-ledger bench-moderation bench-fanout bench-fanout-crowd bench-media dagster clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv .cache/bootstrap
	.cache/bootstrap/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --quiet
	@touch $(STAMP)

NODE_CLIENT := .cache/node/node_modules/socket.io-client/package.json

# The official Socket.IO JS client, the real peer of the end-to-end tests (npm, locked).
$(NODE_CLIENT): ops/node/package.json ops/node/package-lock.json
	mkdir -p .cache/node
	cp ops/node/package.json ops/node/package-lock.json .cache/node/
	npm ci --prefix .cache/node --no-audit --no-fund --silent

WEB_API := .cache/web/api/sdk.gen.ts
WEB_PAGES := .cache/web/pages/home.js

# The pages' API client, generated from the exported OpenAPI document, and the pages bundled with it
# (a page calling an operation the document lacks fails the build).
$(WEB_API): docs/openapi.json $(NODE_CLIENT)
	.cache/node/node_modules/.bin/openapi-ts --silent --no-log-file -i ./docs/openapi.json -o .cache/web/api
	@touch $(WEB_API)

$(WEB_PAGES): $(WEB_API) ops/node/build_web.mjs $(wildcard serving/web/static/*.js)
	NODE_MODULES=.cache/node/node_modules node ops/node/build_web.mjs .cache/web/api .cache/web/pages

install: $(STAMP) $(NODE_CLIENT) $(WEB_PAGES) ## install the locked Python environment (uv), the npm packages and the pages' bundles, idempotent

up: install ## start Kafka, ClickHouse, Redis, PostgreSQL on loopback; topics; migrations
	$(PY) -m ops up

down: ## stop every local service this project started
	@if [ -x $(PY) ]; then $(PY) -m ops down; fi

status: install ## each service: URL, PID, memory, reported version
	$(PY) -m ops status

observe: install ## also Prometheus (127.0.0.1:9090), Alertmanager (:9094) and the exporter; every process is scraped
	$(PY) -m ops up --observe

demo: up ## the platform's main job: a round trip through every store, with timings
	$(PY) -m ops.demo

api: up ## run the HTTP API on 127.0.0.1:8000 (FastAPI)
	$(PY) -m serving.api

worker: up ## run the Faust worker (probes, fraud, settlement agents)
	$(PY) -m streams.worker

media: up ## run the media service: RTMP :1935 and SRT :9710 ingest, the LL-HLS origin on 127.0.0.1:8088 (keys checked with the API on :8000)
	$(PY) -m media

relay: up ## run the ledger outbox relay (PostgreSQL -> ledger.postings)
	$(PY) -m streams.ledger.relay

sink: up ## run the warehouse sink (Kafka -> ClickHouse) with metrics on 127.0.0.1:9464
	$(PY) -m pipelines.warehouse --metrics-port 9464

test: install lint ## lint, then unit and integration tests against real services (started and stopped here)
	@$(PY) -m ops up --record $(TEST_RECORD); \
	status=0; $(PY) -m pytest tests/unit tests/integration tests/e2e $(PYTEST_ARGS) || status=$$?; \
	$(PY) -m ops down --recorded $(TEST_RECORD); \
	exit $$status

test-unit: install ## unit tests only: no services, milliseconds each
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: up ## integration tests against the running platform
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

lint: install ## ruff lint + format check, mypy strict, the package rules (import-linter)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	.venv/bin/lint-imports

format: install ## apply ruff's formatting and fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck: install
	$(PY) -m mypy

schemas: install ## export a JSON Schema per event to build/schemas/
	$(PY) -m streams.contracts.schemas build/schemas

openapi: $(STAMP) $(NODE_CLIENT) ## export the HTTP API's OpenAPI document to docs/openapi.json (a test keeps it current), then regenerate the pages' client
	$(PY) -m serving.api.openapi > docs/openapi.json
	$(MAKE) --no-print-directory $(WEB_PAGES)

chaos: up ## SIGKILL and restart each part under load, invariants per fault (CHAOS_RUNS=3 for three runs in a row)
	$(PY) -m ops.chaos --runs $${CHAOS_RUNS:-1} --load-s $${CHAOS_LOAD_S:-12}

chaos-long: up ## the long chaos run: a minute of load per fault, three runs
	$(PY) -m ops.chaos --runs 3 --load-s 60 --down-s 8

soak: up ## a million gifts through fraud, settlement, outbox and sink; memory of each process must stay flat (SOAK_GIFTS=N)
	$(PY) -m ops.soak --gifts $${SOAK_GIFTS:-1000000}

bench-sink: up ## Kafka->ClickHouse sink vs direct insert, freshness, dashboards via views vs raw (QUICK=1: short)
	$(PY) -m bench.sink

bench-fanout: up ## chat delivery through Kafka + Faust to two gateway nodes vs a Node.js socket.io + redis-adapter reference (QUICK=1: short)
	$(PY) -m bench.fanout

bench-fanout-crowd: up ## 5,000 sockets (mostly idle viewers, one hot room of 1,500) on both stacks: p99 and memory per connection
	FANOUT_SHAPE=crowd $(PY) -m bench.fanout

bench-media: up ## one live stream: LL-HLS and HLS latency and startup in Chromium, packager and ffmpeg CPU vs ffmpeg alone writing HLS (QUICK=1: short)
	$(PY) -m bench.media

bench-moderation: up ## the chat moderation agent's handler with the toxicity classifier vs rules only, on the real Redis and PostgreSQL (QUICK=1: short)
	$(PY) -m bench.moderation

bench-ledger: up ## batched gift settlement vs one transaction per gift, on PostgreSQL (QUICK=1: short)
	$(PY) -m bench.ledger

dagster: up ## the Dagster UI on 127.0.0.1:3000: finance's payout assets, checks, schedule and sensor (SQLite in .cache/dagster)
	$(PY) -c "from orchestration import dagster_home; dagster_home()"
	DAGSTER_HOME=$(CURDIR)/.cache/dagster $(PY) -m dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

clean: down ## remove service data, logs and results (keeps downloaded jars and the venv)
	rm -rf .cache/data .cache/logs .cache/run bench/results build
