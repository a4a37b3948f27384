"""The Dagster instance the CLI records its runs in (`DAGSTER_HOME`), opened safely.

Dagster creates an instance's databases and stamps their schema version (alembic) the first
time a process opens it. Two processes doing that at once on a new home (two `collect`s
started together, a CLI beside `dg dev`) could both stamp it: on sqlite that left a home that
never opens again ("more than one head"), on PostgreSQL one of them failed. So the CLI opens
the instance under an inter-process lock in the home (`fcntl`), and touches every storage
while holding it: one process creates, the other waits a moment and finds it made. A home
that is broken all the same is named in one line, with the way out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

LOCK_FILE = ".stream-stats-instance.lock"
REPO_DAGSTER_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"


class BrokenInstance(Exception):
    """The instance's databases exist but cannot be opened; the message is one line."""


def dagster_home() -> Path:
    """`DAGSTER_HOME`, defaulting to ./.dagster_home, created with the project's dagster.yaml.

    The checkout's own instance (`<repo>/.dagster_home`, what `make` uses) follows the
    repository's dagster.yaml on every start, so edits to it take effect; any other home
    keeps the dagster.yaml it has (an operator's own)."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    config = home / "dagster.yaml"
    ours = home == REPO_DAGSTER_YAML.parent / ".dagster_home"
    if REPO_DAGSTER_YAML.exists():
        with home_lock(home):
            stale = (
                ours and config.exists() and config.read_bytes() != REPO_DAGSTER_YAML.read_bytes()
            )
            if not config.exists() or stale:
                tmp = config.with_suffix(f".yaml.{os.getpid()}")
                shutil.copyfile(REPO_DAGSTER_YAML, tmp)
                os.replace(tmp, config)  # never a half-written dagster.yaml
    return home


@contextlib.contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Exclusive, across the processes of this host, while the block runs."""
    with open(home / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_instance(home: Path) -> dg.DagsterInstance:
    """The instance of `home` (the caller disposes of it, e.g. `with open_instance(h) as i`),
    its databases created, or found made, under `home_lock`."""
    with home_lock(home):
        try:
            instance = dg.DagsterInstance.get()
        except Exception as exc:
            raise BrokenInstance(_broken(home, exc)) from None
        try:
            _touch_every_storage(instance)
        except Exception as exc:
            instance.dispose()
            raise BrokenInstance(_broken(home, exc)) from None
    return instance


DATABASE_MODULES = ("sqlalchemy", "psycopg2", "psycopg", "sqlite3", "dagster_postgres")


def database_error(exc: BaseException) -> str | None:
    """One line when `exc` (or what caused it) is the instance's database failing (PostgreSQL
    gone, a sqlite file locked or lost), else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__module__.split(".")[0] in DATABASE_MODULES:
            cause = " ".join(str(seen).split())[:240] or type(seen).__name__
            return (
                f"the Dagster instance's database stopped answering ({cause}): the run's "
                "state is unknown; run the same command again once it is back (a run left "
                "unfinished is failed and logged then)"
            )
        seen = seen.__cause__ or seen.__context__
    return None


def _touch_every_storage(instance: dg.DagsterInstance) -> None:
    """One cheap read of each storage, so that each creates its tables (and stamps their
    version) now, inside the lock, not later in a run."""
    instance.get_runs(limit=1)
    instance.fetch_materializations(dg.AssetKey("stream_stats_probe"), limit=1)
    instance.all_instigator_state()


def _broken(home: Path, exc: Exception) -> str:
    cause = " ".join(str(exc).split())[:300] or type(exc).__name__
    sqlite = [home / d for d in ("history", "schedules", "storage") if (home / d).exists()]
    way_out = (
        f"move {', '.join(str(p) for p in sqlite)} aside and run again (run history starts "
        "fresh; the stored files are not affected)"
        if sqlite
        else "check its database (dagster instance migrate) or point DAGSTER_HOME elsewhere"
    )
    return f"the Dagster instance in {home} cannot be opened ({cause}): {way_out}"
