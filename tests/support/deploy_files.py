"""Readers of the deployment files in deploy/ for the tests: the variables the project's code
reads (found in its source, not listed by hand), and what deploy/dagster.yaml asks of its
environment.

`code_env_vars()` walks stream_stats_dagster/ with `ast` and collects every name read through
`load_settings`'s `_get(env, "NAME")`, `EnvVar("NAME")`, `os.environ[...]`/`.get`, and
`os.getenv`, so a variable added to the code later must also reach the deployment files.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
PACKAGE = REPO_ROOT / "stream_stats_dagster"
DEPLOY_DAGSTER_YAML = DEPLOY / "dagster.yaml"
DEPLOY_WORKSPACE_YAML = DEPLOY / "workspace.yaml"
COMPOSE_FILE = DEPLOY / "docker-compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"

# What R2 needs from boto3 (notes: r2-and-postgres.md §1) on every Dagster process.
R2_CHECKSUM_ENV = {
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
}
# boto3's credentials for dagster-aws's S3ComputeLogManager (the R2 keys).
COMPUTE_LOG_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


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
    return {name: set(files) for name, files in json.loads(done.stdout).items()}


def _scan_env_vars(package: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Call):
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
                if func_name == "_get":  # config.load_settings: _get(env, "NAME")
                    name = _string_arg(node, 1)
                elif reads_env:  # EnvVar("NAME"), os.getenv("NAME"), os.environ.get("NAME")
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


if __name__ == "__main__":
    scanned = _scan_env_vars(Path(sys.argv[1]))
    print(json.dumps({name: sorted(files) for name, files in scanned.items()}))
