"""A throwaway PostgreSQL 15 cluster for tests, and a Dagster instance config on it.

`postgres_cluster()` runs `initdb` + `pg_ctl start` on a free port in a fresh temporary
directory (data, socket and log inside it; fsync off), creates a database and yields its
coordinates; on exit it stops the server (`pg_ctl stop -m fast`) and removes the directory.
As root the server binaries run as the `postgres` user (`initdb` refuses root), through
`runuser`; otherwise as the current user. Missing binaries fail with one clear line: CI
installs them (`.ci/run`: `apt-get install -y postgresql`), nothing is skipped silently.

`write_postgres_dagster_home(home)` writes the repository's `dagster.yaml` plus a Postgres
storage block reading the `DAGSTER_PG_*` variables of `cluster.env()`, with scheme
`postgresql+psycopg2`: SQLAlchemy >= 2.1 maps a bare `postgresql://` to psycopg v3, which
dagster-postgres does not install (dagster-io/dagster#33958).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.s3server import free_port

REPO_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"
PG_MAJOR = "15"
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
INSTALL_HINT = (
    "install the PostgreSQL 15 server (Debian: `apt-get install -y postgresql`; .ci/run does "
    "this) or set PG_BINDIR to the directory holding initdb and pg_ctl"
)


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    """The directory with initdb/pg_ctl/postgres: $PG_BINDIR, Debian's path, pg_config, PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    candidates.append(Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10
            ).stdout
            if out.strip():
                candidates.append(Path(out.strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    candidates = list(dict.fromkeys(candidates))
    for bindir in candidates:
        if all((bindir / name).is_file() for name in SERVER_BINARIES):
            return bindir
    looked = ", ".join(str(c) for c in candidates)
    raise PostgresUnavailable(
        f"PostgreSQL server binaries not found (looked in {looked}): " + INSTALL_HINT
    )


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    user: str = "dagster"
    password: str = "dagster"
    host: str = "127.0.0.1"
    db_name: str = "dagster_test"
    run_as: str | None = None  # "postgres" when we are root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def connect(self, db_name: str | None = None):
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=db_name or self.db_name,
            connect_timeout=5,
        )

    def query(self, sql: str, *params) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def server_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Take the server down now (`-m immediate`: as if it crashed or lost its host)."""
        _pg(self, "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def env(self) -> dict[str, str]:
        """The variables the storage block of `write_postgres_dagster_home` reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.db_name,
        }


def _pg(cluster: PostgresCluster, binary: str, *args: str, timeout: float = 60) -> str:
    argv = [str(cluster.bindir / binary), *args]
    if cluster.run_as:
        argv = ["runuser", "-u", cluster.run_as, "--", *argv]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=cluster.root, check=False
    )
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"{binary} {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}\n{cluster.server_log()}"
        )
    return result.stdout


@contextlib.contextmanager
def postgres_cluster(db_name: str = "dagster_test") -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    run_as = None
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            raise PostgresUnavailable("running as root and `runuser` is missing: " + INSTALL_HINT)
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "running as root and there is no `postgres` user to run initdb: " + INSTALL_HINT
            ) from None
        run_as = "postgres"
    # Under /tmp, not pytest's 0700 tmp_path: the postgres user must reach the directory.
    root = Path(tempfile.mkdtemp(prefix="stream-stats-pg-"))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PostgresCluster(
        bindir=bindir, root=root, port=free_port(), db_name=db_name, run_as=run_as
    )
    pwfile = root / "pwfile"
    pwfile.write_text(cluster.password + "\n")
    if run_as:
        os.chown(pwfile, pwd.getpwnam(run_as).pw_uid, -1)
    started = False
    try:
        _pg(
            cluster,
            "initdb",
            "-D",
            str(cluster.data_dir),
            "-U",
            cluster.user,
            f"--pwfile={pwfile}",
            "--auth=md5",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = (
            f"-p {cluster.port} -k {root} -c listen_addresses={cluster.host} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _pg(
            cluster,
            "pg_ctl",
            "-D",
            str(cluster.data_dir),
            "-l",
            str(cluster.log_path),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )
        started = True
        deadline = time.monotonic() + 15
        while True:
            try:
                conn = cluster.connect("postgres")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{db_name}"')
        conn.close()
        yield cluster
    finally:
        try:
            if started and cluster.running():
                _pg(
                    cluster,
                    "pg_ctl",
                    "-D",
                    str(cluster.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "30",
                    "stop",
                )
        finally:
            shutil.rmtree(root, ignore_errors=True)


POSTGRES_STORAGE = """
# -- test: instance storage in PostgreSQL (tests/support/postgres.py) --
storage:
  postgres:
    postgres_db:
      hostname: {env: DAGSTER_PG_HOST}
      port: {env: DAGSTER_PG_PORT}
      username: {env: DAGSTER_PG_USER}
      password: {env: DAGSTER_PG_PASSWORD}
      db_name: {env: DAGSTER_PG_DB}
      scheme: postgresql+psycopg2
"""


def write_postgres_dagster_home(home: Path) -> Path:
    """DAGSTER_HOME with the repository's dagster.yaml and the Postgres storage block."""
    home.mkdir(parents=True, exist_ok=True)
    text = REPO_DAGSTER_YAML.read_text() if REPO_DAGSTER_YAML.exists() else ""
    (home / "dagster.yaml").write_text(text.rstrip("\n") + "\n" + POSTGRES_STORAGE)
    return home
