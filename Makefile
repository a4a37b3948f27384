# The few commands a person types. Everything installs into ./.venv from uv.lock.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test check lint ui simulator bench postgres docker-compose

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

# The checkout's own Dagster instance follows the repository's dagster.yaml (kept in step);
# a DAGSTER_HOME set elsewhere (an operator's) is left as it is.
HOME_CONFIG := $(if $(filter $(CURDIR)/.dagster_home,$(DAGSTER_HOME)),$(DAGSTER_HOME)/dagster.yaml)
$(CURDIR)/.dagster_home/dagster.yaml: dagster.yaml
	mkdir -p $(@D) && cp dagster.yaml $@

demo: $(VENV)/.synced $(HOME_CONFIG)  ## install, then collect the last 7 days from the built-in simulator
	$(VENV)/bin/stream-stats collect

test: $(VENV)/.synced $(HOME_CONFIG) postgres docker-compose  ## the whole test suite (CI runs this)
	$(VENV)/bin/dg check defs
	$(VENV)/bin/pytest -q

# PostgreSQL 15 server binaries for the Dagster-on-Postgres test (each test starts and stops a
# throwaway cluster on a free port; Debian's default cluster is not used). No-op if present.
postgres:
	@command -v /usr/lib/postgresql/15/bin/initdb >/dev/null || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -q --no-install-recommends postgresql; }

# docker-compose (Debian's 1.29) for the deployment-file tests: `docker-compose config -q` checks
# deploy/docker-compose.yaml without a Docker daemon. No-op if present.
docker-compose:
	@command -v docker-compose >/dev/null || { \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -q --no-install-recommends docker-compose; }

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

check: $(VENV)/.synced  ## preflight: Cloudflare token and bucket access
	$(VENV)/bin/stream-stats check

ui: $(VENV)/.synced $(HOME_CONFIG)  ## Dagster UI (dg dev) on ./.dagster_home
	$(VENV)/bin/dagster instance migrate >/dev/null  # storage first: webserver and daemon race
	$(VENV)/bin/dg dev

simulator: $(VENV)/.synced
	$(VENV)/bin/stream-stats simulator --port 8787

bench: $(VENV)/.synced
	$(VENV)/bin/python -m bench.run
