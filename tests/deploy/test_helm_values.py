"""deploy/helm/values.yaml for Dagster's Helm chart 1.13.27: the same instance settings as
deploy/dagster.yaml in the chart's terms, secrets only from Kubernetes secrets and each pod
only the ones it uses, no password and PostgreSQL's from an existing secret, the webserver
inside the cluster behind an authenticating ingress, every variable the code reads set or
documented, and (with the chart's files as a fixture) valid against the chart's
`values.schema.json`. Read from the file: there is no helm binary here.

The translation below follows the chart's instance templates (`configmap-instance.yaml` and
`helpers/instance/*.tpl`: `concurrency`, `dagsterDaemon.runCoordinator`, `computeLogManager`,
`retention`, `postgresql.postgresqlScheme`, `additionalInstanceConfig`)."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy_files import (
    COMPUTE_LOG_CREDENTIALS,
    CREDENTIAL_NAME,
    DEPLOY_DAGSTER_YAML,
    HELM_VALUES,
    PRODUCTION_DOC,
    R2_CHECKSUM_ENV,
    code_env_vars,
    load_yaml,
)

CHART_VERSION = "1.13.27"
# The chart's own files (its default values.yaml, values.schema.json and LICENSE), kept as a
# test fixture; STREAM_STATS_HELM_CHART_DIR points elsewhere.
CHART_FIXTURE = Path(
    os.environ.get("STREAM_STATS_HELM_CHART_DIR")
    or Path(__file__).parent / "fixtures" / f"dagster-chart-{CHART_VERSION}"
)
SECRET_VARS = {"CLOUDFLARE_API_TOKEN", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load_yaml(HELM_VALUES)


@pytest.fixture(scope="module")
def instance() -> dict[str, Any]:
    return load_yaml(DEPLOY_DAGSTER_YAML)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def rendered_instance_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The dagster.yaml sections the chart renders from these values (those deploy/dagster.yaml
    also sets), following the chart's templates."""
    out: dict[str, Any] = {}
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    runs = concurrency["runs"]
    out["concurrency"] = {
        "runs": {
            "max_concurrent_runs": runs["maxConcurrentRuns"],
            "tag_concurrency_limits": runs["tagConcurrencyLimits"],
        },
        "pools": {"default_limit": concurrency["pools"]["defaultLimit"]},
    }
    daemon = values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] is True
    if coordinator["type"] == "CustomRunCoordinator":
        custom = coordinator["config"]["customRunCoordinator"]
        out["run_coordinator"] = {
            "module": custom["module"],
            "class": custom["class"],
            "config": custom["config"],
        }
    else:
        out["run_coordinator"] = {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
        }
    retries = daemon["runRetries"]
    out["run_retries"] = {"enabled": retries["enabled"], "max_retries": retries["maxRetries"]}
    out["sensors"] = {"use_threads": daemon["sensors"]["useThreads"]}
    out["schedules"] = {"use_threads": daemon["schedules"]["useThreads"]}
    out["telemetry"] = {"enabled": values["telemetry"]["enabled"]}
    retention = values["retention"]
    assert retention["enabled"] is True
    out["retention"] = {
        kind: {"purge_after_days": retention[kind]["purgeAfterDays"]}
        for kind in ("schedule", "sensor")
    }
    logs = values["computeLogManager"]
    assert logs["type"] == "S3ComputeLogManager"
    out["compute_logs"] = {
        "module": "dagster_aws.s3.compute_log_manager",
        "class": "S3ComputeLogManager",
        "config": {snake(k): v for k, v in logs["config"]["s3ComputeLogManager"].items()},
    }
    out["scheme"] = values["postgresql"]["postgresqlScheme"]
    # additionalInstanceConfig is appended to dagster.yaml as it is
    for key, section in (values.get("additionalInstanceConfig") or {}).items():
        assert key not in out, f"{key} rendered twice"
        out[key] = section
    if daemon["runMonitoring"].get("enabled"):
        assert "run_monitoring" not in out, "run_monitoring rendered twice"
    return out


def test_values_carry_the_settings_of_deploy_dagster_yaml(values, instance):
    rendered = rendered_instance_settings(values)
    assert rendered.pop("scheme") == instance["storage"]["postgres"]["postgres_db"]["scheme"]
    for section, chart_value in rendered.items():
        assert chart_value == instance[section], section
    # every section of deploy/dagster.yaml has its counterpart, except what the chart writes
    # itself (storage from `postgresql`, the run launcher from `runLauncher`)
    assert set(instance) - set(rendered) == {"storage", "run_launcher"}
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is True or values["postgresql"]["postgresqlHost"]


def _env_names(env: Any) -> set[str]:
    if isinstance(env, dict):
        return set(env)
    return {item["name"] for item in env or []}


def _env_entry(env: Any, name: str) -> Any:
    if isinstance(env, dict):
        return env.get(name)
    return next((item for item in env or [] if item["name"] == name), None)


def test_secrets_come_from_kubernetes_secrets(values):
    [deployment] = values["dagster-user-deployments"]["deployments"]
    secrets = {s["name"] for s in deployment["envSecrets"]}
    assert {"stream-stats-cloudflare", "stream-stats-r2"} <= secrets
    text = HELM_VALUES.read_text()
    for name in SECRET_VARS:
        # never a literal value: only a secret's key, or a secretKeyRef
        assert not re.search(rf"name: {name}\s*\n\s*value:", text), name
    for name in COMPUTE_LOG_CREDENTIALS:  # the runs' compute logs: the read/write key
        ref = _env_entry(deployment["env"], name)["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "stream-stats-r2", name
        assert ref["key"] in SECRET_VARS, name


def _secret_keys(text: str) -> dict[str, set[str]]:
    """Secret name -> its keys, from the `kubectl create secret generic` commands in `text`."""
    out: dict[str, set[str]] = {}
    commands = re.split(r"kubectl create secret ", text)[1:]
    for command in commands:
        command = re.split(r"\n\s*#?\s*(?:kubectl|helm|htpasswd)\b|```", command)[0]
        match = re.match(r"(?:generic|tls)\s+(\S+)", command)
        if match:
            keys = set(re.findall(r"--from-literal=([A-Za-z0-9_.-]+)=", command))
            keys |= set(re.findall(r"--from-file=([A-Za-z0-9_.-]+)", command))
            out.setdefault(match.group(1), set()).update(keys)
    return out


def _credentials_of(pod: dict[str, Any], secret_keys: dict[str, set[str]]) -> dict[str, str]:
    """Variable -> "secret/key" for every credential a pod's spec puts in its environment:
    all keys of each envSecrets secret, and each secretKeyRef."""
    out = {}
    for ref in pod.get("envSecrets") or []:
        assert ref["name"] in secret_keys, f"{ref['name']}: no kubectl command creates it"
        for key in secret_keys[ref["name"]]:
            out[key] = f"{ref['name']}/{key}"
    for entry in pod.get("env") or []:
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            out[entry["name"]] = f"{ref['name']}/{ref['key']}"
        else:
            assert not CREDENTIAL_NAME.search(entry["name"]), f"{entry['name']} has a literal value"
    return {k: v for k, v in out.items() if CREDENTIAL_NAME.search(v.split("/")[1])}


def test_each_pod_gets_only_the_credentials_it_uses(values):
    """The user deployment (and every run's Job, which inherits its env and secrets): the
    Cloudflare token, the R2 read/write key and the creator key secret; the webserver: a key
    that may only read the compute logs; the daemon: none (the chart adds PostgreSQL's password
    to every pod)."""
    secret_keys = _secret_keys(HELM_VALUES.read_text())
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    pods = {
        "user deployment": deployment,
        "webserver": values["dagsterWebserver"],
        "daemon": values["dagsterDaemon"],
        "runs (beyond the user deployment's)": values["runLauncher"]["config"]["k8sRunLauncher"],
    }
    got = {name: _credentials_of(pod, secret_keys) for name, pod in pods.items()}
    assert got == {
        "user deployment": {
            "CLOUDFLARE_API_TOKEN": "stream-stats-cloudflare/CLOUDFLARE_API_TOKEN",
            "STREAM_STATS_CREATOR_KEY_SECRET": (
                "stream-stats-cloudflare/STREAM_STATS_CREATOR_KEY_SECRET"
            ),
            "R2_ACCESS_KEY_ID": "stream-stats-r2/R2_ACCESS_KEY_ID",
            "R2_SECRET_ACCESS_KEY": "stream-stats-r2/R2_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID": "stream-stats-r2/R2_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY": "stream-stats-r2/R2_SECRET_ACCESS_KEY",
        },
        "webserver": {
            "AWS_ACCESS_KEY_ID": "stream-stats-r2-logs-read/R2_LOGS_READ_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY": "stream-stats-r2-logs-read/R2_LOGS_READ_SECRET_ACCESS_KEY",
        },
        "daemon": {},
        "runs (beyond the user deployment's)": {},
    }
    run_vars = values["runLauncher"]["config"]["k8sRunLauncher"]["envVars"]
    assert not [v for v in run_vars if CREDENTIAL_NAME.search(v.split("=")[0])]


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in _walk(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in _walk(v, f"{path}[{i}]")]
    return [(path, node)]


def test_no_password_in_the_values_and_postgresql_reads_an_existing_secret(values):
    passwords = {p: v for p, v in _walk(values) if re.search(r"password", p, re.I) and v}
    assert not passwords, f"passwords in the values: {passwords}"
    # the chart generates no password secret: it reads ours, and so does the bundled server
    assert values["generatePostgresqlPasswordSecret"] is False
    secret = values["global"]["postgresqlSecretName"]
    assert secret
    if values["postgresql"]["enabled"]:
        assert values["postgresql"]["existingSecret"] == secret
    # and the file and the docs say how to create it, with the key the chart reads
    for text in (HELM_VALUES.read_text(), PRODUCTION_DOC.read_text()):
        assert "postgresql-password" in _secret_keys(text).get(secret, set()), secret


def test_the_webserver_stays_inside_the_cluster_behind_an_authenticating_ingress(values):
    assert values["dagsterWebserver"]["service"]["type"] == "ClusterIP"
    ingress = values["ingress"]
    # enabled or not, the ingress as configured authenticates and serves HTTPS only
    annotations = ingress["annotations"]
    basic = annotations.get("nginx.ingress.kubernetes.io/auth-type") == "basic" and annotations.get(
        "nginx.ingress.kubernetes.io/auth-secret"
    )
    external = annotations.get("nginx.ingress.kubernetes.io/auth-url")
    assert basic or external, f"the ingress does not authenticate: {annotations}"
    assert annotations.get("nginx.ingress.kubernetes.io/force-ssl-redirect") == "true"
    tls = ingress["dagsterWebserver"]["tls"]
    assert tls["enabled"] is True and tls["secretName"]
    assert ingress.get("ingressClassName") == "nginx"  # the annotations are ingress-nginx's
    if basic:  # the docs make the htpasswd secret under the key the controller reads
        keys = _secret_keys(PRODUCTION_DOC.read_text())
        assert "auth" in keys.get(annotations["nginx.ingress.kubernetes.io/auth-secret"], set())


def test_the_docs_create_every_secret_the_values_name(values):
    named = {values["global"]["postgresqlSecretName"], values["postgresql"]["existingSecret"]}
    named.add(values["ingress"]["annotations"]["nginx.ingress.kubernetes.io/auth-secret"])
    named.add(values["ingress"]["dagsterWebserver"]["tls"]["secretName"])
    for path, value in _walk(values):
        if re.search(r"(envSecrets\[\d+\]|secretKeyRef)\.name$", path):
            named.add(value)
    documented = _secret_keys(PRODUCTION_DOC.read_text())
    assert named <= set(documented), sorted(named - set(documented))


def test_every_dagster_pod_sets_the_r2_settings_and_the_code_reads_its_variables(values):
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True  # runs inherit it
    services = {
        "user deployment": deployment["env"],
        "webserver": values["dagsterWebserver"]["env"],
        "daemon": values["dagsterDaemon"]["env"],
    }
    for service, env in services.items():
        for name, value in R2_CHECKSUM_ENV.items():
            assert _env_entry(env, name)["value"] == value, (service, name)
        assert {"LOG_BUCKET", "R2_ENDPOINT_URL"} <= (
            _env_names(env) | {"R2_ENDPOINT_URL"}  # the user deployment's comes from a secret
        ), service
    # the user deployment writes compute logs, the webserver reads them (the daemon does not)
    for service in ("user deployment", "webserver"):
        assert set(COMPUTE_LOG_CREDENTIALS) <= _env_names(services[service]), service
    runs = values["runLauncher"]["config"]["k8sRunLauncher"]["envVars"]
    assert {f"{k}={v}" for k, v in R2_CHECKSUM_ENV.items()} <= set(runs)
    # the user deployment (and so every run): each variable the code reads is set, comes from
    # one of the secrets, or is documented in the file
    text = HELM_VALUES.read_text()
    set_here = _env_names(deployment["env"])
    for name in set(code_env_vars()) - {"DAGSTER_HOME"}:  # the chart sets DAGSTER_HOME
        assert name in set_here or re.search(rf"\b{name}\b", text), name


def _helm_coalesce(defaults: Any, override: Any) -> Any:
    """How Helm merges a values file into the chart's defaults: maps deep-merge, the rest
    (lists included) is replaced; null deletes the key."""
    if isinstance(defaults, dict) and isinstance(override, dict):
        merged = copy.deepcopy(defaults)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _helm_coalesce(merged.get(key), value)
        return merged
    return copy.deepcopy(override)


def _without_remote_refs(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: _without_remote_refs(v)
            for k, v in schema.items()
            if not (k == "$ref" and isinstance(v, str) and v.startswith(("http:", "https:")))
        }
    if isinstance(schema, list):
        return [_without_remote_refs(v) for v in schema]
    return schema


def test_values_validate_against_the_chart_schema(values):
    schema_path = CHART_FIXTURE / "values.schema.json"
    defaults_path = CHART_FIXTURE / "values.yaml"
    if not schema_path.exists():
        pytest.skip(
            f"the dagster/dagster {CHART_VERSION} chart's values.schema.json is not in this "
            f"repository ({schema_path}): the chart is published only on Dagster's Helm "
            "repository, which this machine cannot reach (PyPI, Debian and npm carry no copy). "
            "Put the chart's values.yaml, values.schema.json and LICENSE there (or set "
            "STREAM_STATS_HELM_CHART_DIR) to run this check."
        )
    import jsonschema

    assert (CHART_FIXTURE / "LICENSE").exists(), "keep the chart's LICENSE with its files"
    # The chart's schema points at Kubernetes object schemas on kubernetesjsonschema.dev; they
    # cannot be fetched here, so Kubernetes objects (probes, resources, env entries) are checked
    # only for the shapes the chart itself declares next to those references.
    schema = _without_remote_refs(json.loads(schema_path.read_text()))
    merged = _helm_coalesce(load_yaml(defaults_path), values)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(merged), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])
