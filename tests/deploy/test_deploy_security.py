"""The deployment is closed to the network (docs/production.md): the compose file rendered by
docker-compose for the default and the `auth` profiles publishes nothing beyond loopback except
the authenticating proxy, has no default password, gives no Dagster process the raw Docker
socket, and gives each process only the credentials it uses; the Caddy configs are validated
and run by the real `caddy` (the UI behind the proxy needs credentials; each Docker API filter
lets through exactly the docker-py calls its client makes); the image's entrypoint turns the
secret files into the variables the code reads.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.caddy_harness import (
    CONTAINER_ID,
    UnixHTTPConnection,
    UnixHTTPSConnection,
    Upstream,
    docker_engine_reply,
    replace_once,
    running_caddy,
    short_tmp,
)
from tests.support.deploy_files import (
    CADDY_DIR,
    COMPOSE_FILE,
    COMPUTE_LOG_CREDENTIALS,
    CREDENTIAL_NAME,
    DEPLOY_DAGSTER_YAML,
    DOCKERFILE,
    ENTRYPOINT,
    OPERATOR_ENV,
    PRODUCTION_DOC,
    PROJECT_SECRETS,
    REQUIRED_ENV,
    ComposeConfigError,
    caddy_binary,
    compose_config,
    credential_vars,
    env_of,
    load_yaml,
    networks_of,
    published_ports,
    services_for,
    volume_mounts,
)

DOCKER_SOCKET = "/var/run/docker.sock"
UI_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict]:
    """The services each profile starts, from `docker-compose config` with OPERATOR_ENV."""
    return {
        "default": services_for(compose_config(**OPERATOR_ENV)),
        "auth": services_for(compose_config("auth", **OPERATOR_ENV), "auth"),
    }


@pytest.fixture(scope="module")
def services(rendered) -> dict[str, dict]:
    return rendered["auth"]  # every service


@pytest.fixture(scope="module")
def instance() -> dict:
    return load_yaml(DEPLOY_DAGSTER_YAML)


@pytest.fixture(scope="module")
def ui_password_hash() -> str:
    """The hash as the docs make it (`caddy hash-password`), at bcrypt's lowest cost to be
    quick (the docs use the default)."""
    done = subprocess.run(
        [str(caddy_binary()), "hash-password", "--bcrypt-cost", "4", "--plaintext", UI_PASSWORD],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def caddyfile_of(service: dict) -> Path | None:
    for source, target, _ in volume_mounts(service):
        if target == "/etc/caddy/Caddyfile":
            return Path(source)
    return None


def auth_proxy(services: dict[str, dict]) -> tuple[str, dict]:
    [(name, service)] = [
        (n, s) for n, s in services.items() if caddyfile_of(s) == CADDY_DIR / "auth.Caddyfile"
    ]
    return name, service


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # "" (every interface) or a name


def docker_api_filter_of(client: str, services: dict[str, dict]) -> tuple[str, dict]:
    """The service a Dagster process reaches Docker through (its DOCKER_HOST)."""
    host = env_of(services[client]).get("DOCKER_HOST", "")
    match = re.fullmatch(r"tcp://([a-z0-9-]+):(\d+)", host)
    assert match, f"{client}: DOCKER_HOST is {host!r}, not tcp://<service>:<port>"
    name = match.group(1)
    assert name in services, f"{client}: DOCKER_HOST names {name}, which is no service"
    return name, services[name]


# -- 1. loopback by default, authentication in front -------------------------------------------


@pytest.mark.parametrize("profile", ["default", "auth"])
def test_nothing_is_published_beyond_loopback_except_the_authenticating_proxy(rendered, profile):
    services = rendered[profile]
    beyond_loopback = {}
    for name, service in services.items():
        assert service.get("network_mode") != "host", f"{name}: host networking publishes all"
        for address, host_port, target in published_ports(service):
            if not is_loopback(address):
                beyond_loopback[name] = (address or "every interface", host_port, target)
    # the UI is there on the host's loopback
    assert ("127.0.0.1", "3000", "3000") in published_ports(services["webserver"])
    if profile == "default":
        assert not beyond_loopback, f"published beyond loopback: {beyond_loopback}"
    else:
        proxy, service = auth_proxy(services)
        assert set(beyond_loopback) == {proxy}, f"published beyond loopback: {beyond_loopback}"
        assert [t for _, _, t in published_ports(service)] == ["443"]
        assert service["profiles"] == ["auth"]
        # it reaches the webserver by name over a network they share
        config = caddyfile_of(service).read_text()
        assert "reverse_proxy webserver:3000 {" in config
        assert networks_of(service) & networks_of(services["webserver"])


def test_the_ui_beyond_loopback_needs_credentials(services, ui_password_hash):
    """deploy/caddy/auth.Caddyfile run by caddy: HTTPS; no credentials, 401 and nothing reaches
    the webserver; the right ones, the UI (without the credentials)."""
    _, service = auth_proxy(services)
    env = env_of(service) | {"STREAM_STATS_UI_PASSWORD_HASH": ui_password_hash}
    host = env["STREAM_STATS_UI_HOST"]
    config = caddyfile_of(service).read_text()
    with short_tmp() as tmp:
        front, health, web = tmp / "front.sock", tmp / "health.sock", tmp / "web.sock"
        config = replace_once(
            config,
            "reverse_proxy webserver:3000 {",
            f"reverse_proxy unix/{web} {{",
            where="upstream",
        )
        config = replace_once(
            config,
            "{$STREAM_STATS_UI_HOST} {\n",
            f"{{$STREAM_STATS_UI_HOST}} {{\n\tbind unix/{front}\n",
            where="site",
        )
        config = replace_once(config, "bind 127.0.0.1", f"bind unix/{health}", where="health")
        webserver = Upstream(web, lambda method, path: (200, {}, b"the Dagster UI"))
        try:
            with running_caddy(config, tmp, sockets=[front, health], tls={front: host}, env=env):

                def get(headers: dict[str, str]) -> tuple[int, bytes, str | None]:
                    connection = UnixHTTPSConnection(front, host)
                    connection.request("GET", "/graphql", headers=headers)
                    response = connection.getresponse()
                    return response.status, response.read(), response.getheader("WWW-Authenticate")

                status, _, challenge = get({})
                assert (status, webserver.seen) == (401, []), status
                assert challenge and challenge.startswith("Basic ")
                token = base64.b64encode(f"{env['STREAM_STATS_UI_USER']}:{UI_PASSWORD}".encode())
                status, body, _ = get({"Authorization": f"Basic {token.decode()}"})
                assert (status, body) == (200, b"the Dagster UI")
                [request] = webserver.seen
                assert "Authorization" not in request.headers
                # the container's health check
                connection = UnixHTTPConnection(health, "127.0.0.1:8080")
                connection.request("GET", "/healthz")
                assert connection.getresponse().status == 200
        finally:
            webserver.close()


def test_auth_proxy_refuses_to_start_without_its_host_and_credentials(services):
    """Compose interpolates every service before it applies profiles, so a ${VAR:?} on the
    proxy would demand these variables from loopback-only deployments too: the container's
    entrypoint checks them instead (run here by sh as Docker would, with caddy replaced by
    echo), and Caddy's config refuses empty credentials as well."""
    _, service = auth_proxy(services)
    # docker-compose config writes a literal $ as $$ (valid compose); Docker gets $
    entrypoint = [part.replace("$$", "$") for part in service["entrypoint"]]
    command = ["echo", "caddy started"]
    required = ("STREAM_STATS_UI_HOST", "STREAM_STATS_UI_USER", "STREAM_STATS_UI_PASSWORD_HASH")
    full = env_of(service)
    assert all(full[name] for name in required)

    def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*entrypoint, *command], env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    started = start(full)
    assert (started.returncode, started.stdout) == (0, "caddy started\n"), started.stderr
    for name in required:
        refused = start(full | {name: ""})  # as rendered when the operator did not set it
        assert refused.returncode != 0 and not refused.stdout, name
        assert name in refused.stderr and "docs/production.md" in refused.stderr, refused.stderr
        validated = caddy_validate(caddyfile_of(service), full | {name: ""})
        assert validated.returncode != 0, f"caddy accepts the config without {name}"


def caddy_validate(caddyfile: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    with short_tmp() as tmp:
        return subprocess.run(
            [str(caddy_binary()), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "XDG_DATA_HOME": str(tmp),
                 "XDG_CONFIG_HOME": str(tmp), **env},
            check=False,
        )  # fmt: skip


@pytest.mark.parametrize("caddyfile", sorted(CADDY_DIR.glob("*.Caddyfile")), ids=lambda p: p.name)
def test_caddy_validates_every_config(services, caddyfile, ui_password_hash):
    """`caddy validate` of each config in deploy/caddy/ with the environment its service gets
    (the auth proxy's with a real hash, in both TLS modes: Caddy's own CA, and ACME)."""
    [(name, service)] = [(n, s) for n, s in services.items() if caddyfile_of(s) == caddyfile]
    envs = [env_of(service)]
    if "STREAM_STATS_UI_PASSWORD_HASH" in envs[0]:
        envs[0]["STREAM_STATS_UI_PASSWORD_HASH"] = ui_password_hash
        assert envs[0]["STREAM_STATS_UI_TLS"] == "internal"
        envs.append(envs[0] | {"STREAM_STATS_UI_TLS": "ops@example.com"})
    for env in envs:
        result = caddy_validate(caddyfile, env)
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"


def test_caddy_images_are_pinned_to_the_tested_caddy(services):
    version = subprocess.run(
        [str(caddy_binary()), "version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()[0]  # v2.11.7
    images = {s["image"] for s in services.values() if caddyfile_of(s)}
    assert images == {f"caddy:{version.removeprefix('v')}-alpine"}, (images, version)


# -- 2. no default secrets ---------------------------------------------------------------------


@pytest.mark.parametrize("missing", sorted(REQUIRED_ENV))
def test_compose_refuses_to_start_without_the_database_password_and_the_secrets(missing):
    env = {k: v for k, v in REQUIRED_ENV.items() if k != missing}
    with pytest.raises(ComposeConfigError) as refused:
        compose_config(**env)
    assert missing in str(refused.value) and "docs/production.md" in str(refused.value)


def test_no_credential_has_a_default():
    """Rendered with only what compose requires: every credential a service gets is empty,
    the operator's own value, or a path to a secret file."""
    for profiles in ((), ("auth",)):
        config = compose_config(*profiles, **REQUIRED_ENV)
        for name, service in services_for(config, *profiles).items():
            for var, value in credential_vars(env_of(service)).items():
                ok = (
                    value in ("", REQUIRED_ENV["DAGSTER_PG_PASSWORD"])
                    or (var.endswith("_FILE") and value.startswith("/run/secrets/"))
                )  # fmt: skip
                assert ok, f"{name}: {var} defaults to {value!r}"


# -- 3. the Docker socket ----------------------------------------------------------------------


def test_no_dagster_process_mounts_the_docker_socket(services, instance):
    mounting = {
        name
        for name, service in services.items()
        if any(DOCKER_SOCKET in (source, target) for source, target, _ in volume_mounts(service))
    }
    filters = {docker_api_filter_of(client, services)[0] for client in ("webserver", "daemon")}
    assert mounting == filters, f"the Docker socket is mounted in {sorted(mounting)}"
    assert len(filters) == 2, "the webserver and the daemon share one Docker API filter"
    for client in ("webserver", "daemon"):
        name, proxy = docker_api_filter_of(client, services)
        assert caddyfile_of(proxy).parent == CADDY_DIR, name
        # the filter's networks reach its client and no other service, nor the runs
        for other, service in services.items():
            shared = networks_of(proxy) & networks_of(service)
            assert shared if other in (client, name) else not shared, (name, other, shared)
        assert instance["run_launcher"]["config"]["network"] not in networks_of(proxy)
        networks = compose_config("auth", **OPERATOR_ENV)["networks"]
        assert all(networks[n].get("internal") for n in networks_of(proxy)), "a route out"


CREATE_KWARGS = {"image": "stream-stats-dagster:latest", "command": ["dagster", "api"]}


def run_launcher_calls(client, instance) -> None:
    """What DockerRunLauncher does through docker-py to launch and watch a run."""
    config = instance["run_launcher"]["config"]
    container = client.containers.create(
        **CREATE_KWARGS,
        detach=True,
        environment={"DAGSTER_RUN_JOB_NAME": "collect"},
        network=config["network"],
        labels={"dagster/run_id": "r"},
        **config["container_kwargs"],
    )
    container.start()
    assert client.containers.get(container.id).status == "running"  # run monitoring
    container.stop(timeout=None)  # DockerRunLauncher.terminate


def terminate_calls(client, instance) -> None:
    """DockerRunLauncher.terminate, what the UI's Terminate runs in the webserver."""
    client.containers.get(CONTAINER_ID).stop(timeout=None)


REFUSED_CALLS = {
    "list containers": lambda c: c.containers.list(),
    "inspect by name": lambda c: c.containers.get("stream-stats-postgres-1"),
    "exec": lambda c: c.api.exec_create(CONTAINER_ID, "id"),
    "logs": lambda c: c.api.logs(CONTAINER_ID),
    "read files": lambda c: c.api.get_archive(CONTAINER_ID, "/run/secrets"),
    "kill": lambda c: c.api.kill(CONTAINER_ID),
    "remove": lambda c: c.api.remove_container(CONTAINER_ID),
    "pull": lambda c: c.api.pull("alpine", tag="3"),
    "system info": lambda c: c.info(),
    "volumes": lambda c: c.volumes.list(),
}


@pytest.mark.parametrize(
    ("client", "allowed", "also_refused"),
    [
        ("daemon", run_launcher_calls, {}),
        (
            "webserver",
            terminate_calls,
            {
                "create": lambda c: c.api.create_container(**CREATE_KWARGS),
                "start": lambda c: c.api.start(CONTAINER_ID),
            },
        ),
    ],
)
def test_docker_api_filter_passes_only_its_clients_calls(
    services, instance, client, allowed, also_refused
):
    """The filter's Caddyfile run by caddy in front of a stand-in Docker Engine, called by
    docker-py 7 (the image's) from the client's DOCKER_HOST as DockerRunLauncher does
    (docker.from_env): its own calls pass; the rest of the API is refused with 403 and never
    reaches the engine."""
    try:
        import docker
    except ImportError:
        pytest.fail(
            "docker-py is missing: it comes with the dev group (moto[server] depends on it, "
            "at the version the image's dagster-docker uses): make .venv/.synced",
            pytrace=False,
        )

    _, proxy = docker_api_filter_of(client, services)
    port = env_of(services[client])["DOCKER_HOST"].rsplit(":", 1)[1]
    sockets = {target for source, target, _ in volume_mounts(proxy) if source == DOCKER_SOCKET}
    assert sockets == {DOCKER_SOCKET}, sockets
    config = caddyfile_of(proxy).read_text()
    with short_tmp() as tmp:
        front, engine_socket = tmp / "front.sock", tmp / "docker.sock"
        assert f"unix/{DOCKER_SOCKET}" in config
        config = config.replace(f"unix/{DOCKER_SOCKET}", f"unix/{engine_socket}")
        config = replace_once(
            config,
            f"http://:{port} {{\n",
            f"http://:{port} {{\n\tbind unix/{front}\n",
            where="site",
        )
        engine = Upstream(engine_socket, docker_engine_reply)
        try:
            with running_caddy(config, tmp, sockets=[front]):
                docker_client = docker.DockerClient.from_env(
                    environment={"DOCKER_HOST": f"unix://{front}"}
                )
                allowed(docker_client, instance)
                passed = {(s.method, s.path.split("?")[0]) for s in engine.seen}
                assert passed, "nothing reached the engine"
                for what, call in (REFUSED_CALLS | also_refused).items():
                    with pytest.raises(docker.errors.APIError) as refused:
                        call(docker_client)
                    assert refused.value.status_code == 403, (what, refused.value)
                # docker-py inspects a container before reading its logs; nothing new passed
                after = {(s.method, s.path.split("?")[0]) for s in engine.seen}
                assert after == passed, sorted(after - passed)
        finally:
            engine.close()
    if client == "daemon":
        # the run's container as dagster.yaml asks for it reached the engine whole
        [create] = [s for s in engine.seen if s.path.split("?")[0].endswith("/containers/create")]
        body = json.loads(create.body)
        assert "stream-stats-secrets:/run/secrets/stream-stats:ro" in body["HostConfig"]["Binds"]


# -- 4. each process gets only what it uses ----------------------------------------------------


def test_each_process_gets_only_the_credentials_it_uses(services, instance):
    secret_files = {f"{name}_FILE" for name in (*PROJECT_SECRETS, *COMPUTE_LOG_CREDENTIALS)}
    expected = {
        "postgres": {"POSTGRES_PASSWORD"},
        "code-server": {"DAGSTER_PG_PASSWORD", *secret_files},
        # the database, and a key that reads the compute logs
        "webserver": {"DAGSTER_PG_PASSWORD", *COMPUTE_LOG_CREDENTIALS},
        # the database, and its Docker API filter (DOCKER_HOST)
        "daemon": {"DAGSTER_PG_PASSWORD"},
    }
    proxy, _ = auth_proxy(services)
    expected[proxy] = {"STREAM_STATS_UI_PASSWORD_HASH"}
    for client in ("webserver", "daemon"):
        expected[docker_api_filter_of(client, services)[0]] = set()
    assert set(expected) == set(services), "a service this test does not know"
    exported_by_mistake = {OPERATOR_ENV[name] for name in PROJECT_SECRETS}
    for name, service in services.items():
        env = env_of(service)
        assert set(credential_vars(env)) == expected[name], name
        leaked = {k for k, v in env.items() if v in exported_by_mistake}
        assert not leaked, f"{name}: the runs' secrets reach it through compose: {leaked}"
    # the webserver's compute-log key is the read-only one, under the names boto3 reads
    webserver = env_of(services["webserver"])
    assert webserver["AWS_ACCESS_KEY_ID"] == OPERATOR_ENV["R2_LOGS_READ_ACCESS_KEY_ID"]
    assert webserver["AWS_SECRET_ACCESS_KEY"] == OPERATOR_ENV["R2_LOGS_READ_SECRET_ACCESS_KEY"]
    # the daemon's only other privilege is its Docker API filter
    assert docker_api_filter_of("daemon", services)
    # runs: what DockerRunLauncher passes on, credentials as files only
    env_vars = instance["run_launcher"]["config"]["env_vars"]
    runs = dict(v.split("=", 1) if "=" in v else (v, "from the daemon") for v in env_vars)
    assert set(credential_vars(runs)) == {"DAGSTER_PG_PASSWORD", *secret_files}


def test_runs_read_their_secrets_from_the_code_servers_files_not_from_the_daemon(
    services, instance
):
    config = instance["run_launcher"]["config"]
    passed_on = [v for v in config["env_vars"] if "=" not in v]
    literal = dict(v.split("=", 1) for v in config["env_vars"] if "=" in v)
    daemon = env_of(services["daemon"])
    # DockerRunLauncher reads each bare name from the daemon's environment, or fails the launch
    missing = set(passed_on) - set(daemon)
    assert not missing, f"the runs ask the daemon for variables it lacks: {sorted(missing)}"
    code_server = env_of(services["code-server"])
    files = {k: v for k, v in code_server.items() if k.endswith("_FILE")}
    assert literal == files, "the runs and the code server read different secret files"
    # the same volume at the same place
    [(volume, mount, mode)] = [
        m for m in volume_mounts(services["code-server"]) if m[1] == "/run/secrets/stream-stats"
    ]
    assert mode == "ro" and all(path.startswith(f"{mount}/") for path in files.values())
    assert f"{volume}:{mount}:ro" in config["container_kwargs"]["volumes"]
    declared = compose_config(**REQUIRED_ENV)["volumes"]
    [key] = [k for k, v in declared.items() if (v or {}).get("name") == volume]
    assert declared[key]["driver_opts"]["device"] == REQUIRED_ENV["STREAM_STATS_SECRETS_DIR"]
    for name in ("webserver", "daemon"):
        assert volume not in {s for s, _, _ in volume_mounts(services[name])}, name


def test_entrypoint_sets_each_secret_from_its_file(services, instance, tmp_path):
    """deploy/entrypoint.sh run by sh with the code server's and the runs' NAME_FILE variables
    (their directory moved to a temporary one)."""
    mount = "/run/secrets/stream-stats"
    contents = {}
    for env in (
        env_of(services["code-server"]),
        dict(v.split("=", 1) for v in instance["run_launcher"]["config"]["env_vars"] if "=" in v),
    ):
        files = {k: v.replace(mount, str(tmp_path)) for k, v in env.items() if k.endswith("_FILE")}
        for path in set(files.values()):
            contents[path] = f"value of {Path(path).name}\n"
            Path(path).write_text(contents[path])
        shown = run_entrypoint({**files, "SSL_CERT_FILE": "/etc/ssl/x.pem"})
        assert shown.returncode == 0, shown.stderr
        got = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
        for file_var, path in files.items():
            assert got[file_var.removesuffix("_FILE")] == contents[path].rstrip("\n")
            assert file_var not in got
        assert got["SSL_CERT_FILE"] == "/etc/ssl/x.pem"  # not one of ours: left alone
        assert got["AWS_ACCESS_KEY_ID"] == got["R2_ACCESS_KEY_ID"]  # compute logs: the same key
    missing = run_entrypoint({"CLOUDFLARE_API_TOKEN_FILE": str(tmp_path / "absent")})
    assert missing.returncode != 0 and "CLOUDFLARE_API_TOKEN_FILE" in missing.stderr
    (tmp_path / "token").write_text("t")
    both = run_entrypoint(
        {"CLOUDFLARE_API_TOKEN_FILE": str(tmp_path / "token"), "CLOUDFLARE_API_TOKEN": "x"}
    )
    assert both.returncode != 0 and "set only one" in both.stderr


def run_entrypoint(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "env"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_image_runs_every_command_through_the_entrypoint(services):
    text = DOCKERFILE.read_text()
    [entrypoint] = re.findall(r"^ENTRYPOINT\s+\[\"([^\"]+)\"\]", text, flags=re.M)
    assert re.search(rf"^COPY deploy/entrypoint\.sh {re.escape(entrypoint)}$", text, flags=re.M)
    assert ENTRYPOINT.stat().st_mode & 0o111, "deploy/entrypoint.sh is not executable"
    # the services of our image set commands only, so the entrypoint stays
    image = services["code-server"]["image"]
    for name, service in services.items():
        if service["image"] == image:
            assert "entrypoint" not in service, name


def test_the_docs_name_what_the_compose_file_asks_of_the_operator(services):
    """docs/production.md names every variable compose requires, every credential variable an
    operator sets, the auth profile's variables, PRIVATE_BUCKET, and each secret file."""
    doc = PRODUCTION_DOC.read_text()
    lines = COMPOSE_FILE.read_text().splitlines()
    text = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in lines)  # no comments
    required = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+):\?", text))
    assert required == set(REQUIRED_ENV), required
    operator_credentials = {
        name
        for name in re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text)
        if CREDENTIAL_NAME.search(name)
    }
    _, proxy = auth_proxy(services)
    files = {
        Path(v).name for k, v in env_of(services["code-server"]).items() if k.endswith("_FILE")
    }
    wanted = required | operator_credentials | set(env_of(proxy)) | {"PRIVATE_BUCKET"} | files
    missing = {name for name in wanted if f"`{name}`" not in doc and f" {name} " not in doc}
    assert not missing, f"docs/production.md does not name: {sorted(missing)}"
