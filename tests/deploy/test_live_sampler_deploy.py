"""The live sampler in production (docs/live.md, "Operations"): the compose service (profile
`live`) and the Kubernetes manifest give it a spool volume, a health check, and only its own
credentials, as files or from one Secret; no Dagster process gets them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import yaml

from stream_stats_dagster.live.health import check
from tests.deploy.test_deploy_security import run_entrypoint
from tests.support.deploy_files import (
    CREDENTIAL_NAME,
    DEPLOY,
    OPERATOR_ENV,
    compose_config,
    env_of,
    services_for,
)

MANIFEST = DEPLOY / "kubernetes" / "live-sampler.yaml"
LIVE_SECRETS = "/run/secrets/live"
OWN_CREDENTIALS = {
    "REDIS_URL_FILE",
    "R2_ACCESS_KEY_ID_FILE",
    "R2_SECRET_ACCESS_KEY_FILE",
    "AWS_ACCESS_KEY_ID_FILE",
    "AWS_SECRET_ACCESS_KEY_FILE",
}


def _live_services() -> dict[str, dict]:
    env = {**OPERATOR_ENV, "STREAM_STATS_LIVE_SECRETS_DIR": "/srv/stream-stats/live-secrets"}
    return services_for(compose_config("live", **env), "live")


def test_the_sampler_runs_only_in_its_profile_with_a_health_check_and_a_spool_volume():
    services = _live_services()
    sampler = services["live-sampler"]
    assert sampler["profiles"] == ["live"]
    assert "live-sampler" not in services_for(compose_config(**OPERATOR_ENV))
    assert sampler["command"] == ["stream-stats", "live-sampler"]
    assert sampler["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-m",
        "stream_stats_dagster.live.health",
    ]
    env = env_of(sampler)
    mounts = {m["target"]: m for m in sampler["volumes"] if isinstance(m, dict)}
    mounts |= {
        m.split(":")[1]: {"source": m.split(":")[0], "type": "volume"}
        for m in sampler["volumes"]
        if isinstance(m, str)
    }
    spool_root = str(Path(env["LIVE_SPOOL_DIR"]).parent)
    assert mounts[spool_root]["source"] == "live-spool"  # a named volume: survives restarts
    secrets = mounts[LIVE_SECRETS]
    assert secrets["type"] == "bind" and secrets["read_only"] is True
    assert secrets["source"] == "/srv/stream-stats/live-secrets"
    # nothing published; its own network, no other service on it; locked down
    assert not sampler.get("ports")
    assert set(sampler["networks"]) == {"live"}
    others = [n for n, s in services.items() if n != "live-sampler" and "live" in s["networks"]]
    assert not others
    assert sampler["read_only"] is True and sampler["cap_drop"] == ["ALL"]


def test_the_sampler_gets_only_its_own_credentials_and_no_dagster_process_gets_them():
    services = _live_services()
    env = env_of(services["live-sampler"])
    credentials = {k for k in env if CREDENTIAL_NAME.search(k) or k.startswith("REDIS_URL")}
    assert credentials == OWN_CREDENTIALS
    assert all(env[k].startswith(f"{LIVE_SECRETS}/") for k in OWN_CREDENTIALS)
    assert "DAGSTER_PG_PASSWORD" not in env and "DOCKER_HOST" not in env
    assert not any(k.startswith("CLOUDFLARE") for k in env)
    for name, service in services.items():
        if name == "live-sampler":
            continue
        other = env_of(service)
        assert not any(k.startswith(("REDIS_URL", "LIVE_")) for k in other), name
        targets = {
            m["target"] if isinstance(m, dict) else m.split(":")[1]
            for m in service.get("volumes") or []
        }
        assert LIVE_SECRETS not in targets, name


def test_the_entrypoint_reads_the_redis_url_from_its_file(tmp_path):
    (tmp_path / "redis_url").write_text("rediss://sampler:pw@redis.internal:6380/0\n")
    shown = run_entrypoint({"REDIS_URL_FILE": str(tmp_path / "redis_url")})
    assert shown.returncode == 0, shown.stderr
    assert "REDIS_URL=rediss://sampler:pw@redis.internal:6380/0" in shown.stdout.splitlines()
    assert "REDIS_URL_FILE" not in shown.stdout


def test_the_kubernetes_manifest_keeps_one_sampler_on_a_claim_with_secrets_from_a_secret():
    docs = {d["kind"]: d for d in yaml.safe_load_all(MANIFEST.read_text()) if d}
    claim, deployment = docs["PersistentVolumeClaim"], docs["Deployment"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    [spool] = [m for m in container["volumeMounts"] if m["name"] == "spool"]
    assert volumes["spool"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LIVE_SPOOL_DIR"]["value"].startswith(spool["mountPath"] + "/")
    for name, entry in env.items():
        if CREDENTIAL_NAME.search(name) or name == "REDIS_URL":
            assert "value" not in entry, name
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "stream-stats-live", name
    assert not any(k.startswith(("CLOUDFLARE", "DAGSTER_PG")) for k in env)
    probe = container["livenessProbe"]["exec"]["command"]
    assert probe == ["python", "-m", "stream_stats_dagster.live.health"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_health_check_wants_a_recent_sample(tmp_path):
    spool = tmp_path / "spool"
    assert "no sample" in check(str(spool), 15)
    (spool / "hours").mkdir(parents=True)
    hour = spool / "hours" / "20250311T1400Z.jsonl"
    hour.write_text("{}\n")
    assert check(str(spool), 15) is None
    old = time.time() - 61
    os.utime(hour, (old, old))
    assert "61 s ago" in check(str(spool), 15)
    assert check(str(spool), 30) is None  # three intervals of 30 s
