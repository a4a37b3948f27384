"""Long waits, said out loud: the `stream_stats_dagster.waits` logger.

Any code that is about to wait more than `ANNOUNCE_AFTER_SECONDS` (a Cloudflare budget, a
`retry-after`, a back-off, a server that does not answer) calls `announce_wait` first: one
line saying what waits, why, and until when (UTC wall time and seconds). The lines also go to
Dagster's event log through the caller's own logger; this standard logger is what a terminal
sees, because the CLI hides Dagster's run logs unless `--verbose`.

Nothing here imports Dagster, so scripts and the client use it as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

WAITS_LOGGER = "stream_stats_dagster.waits"
NOTICES_LOGGER = "stream_stats_dagster.notices"


class Terminal:
    """Where the CLI's own lines go: the process's stdout and stderr as they were when the
    command started.

    A Dagster run captures its process's output for the UI by pointing file descriptors 1 and
    2 at log files, mirrored back by `tail` children; when Ctrl-C reaches the whole process
    group those children die first, and whatever the CLI printed after them was lost. So the
    CLI keeps its own copies of the two descriptors (`keep`) and writes through them. Where
    there is no descriptor to copy (a test capturing `sys.stdout`), the current streams are
    used as they are."""

    def __init__(self) -> None:
        self._out: TextIO | None = None
        self._err: TextIO | None = None

    @contextlib.contextmanager
    def keep(self) -> Iterator[None]:
        opened = [self._copy(sys.stdout), self._copy(sys.stderr)]
        self._out, self._err = opened
        try:
            yield
        finally:
            self._out = self._err = None
            for stream in opened:
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    @staticmethod
    def _copy(stream: TextIO) -> TextIO | None:
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        return open(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="backslashreplace")

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def error(self, line: str) -> None:
        print(line, file=self.err, flush=True)


terminal = Terminal()

# What Dagster writes straight to sys.stderr for each log message its instance's database did
# not take (the database is gone): the CLI's outcome line names the database instead, once.
DAGSTER_STORAGE_NOISE = "Exception while writing logger call to event log: "


class StorageNoise:
    """sys.stderr minus Dagster's lines about log messages it could not store (`lines` keeps
    them, to be said once as a warning); everything else passes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.lines = stream, list[str]()
        self.runs: list[threading.Thread] = []  # the threads executing the run

    def write(self, text: str) -> int:
        if text.startswith(DAGSTER_STORAGE_NOISE):
            self.lines.append(text[len(DAGSTER_STORAGE_NOISE) :].strip())
            return len(text)
        return self.stream.write(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


@contextlib.contextmanager
def without_storage_noise() -> Iterator[StorageNoise]:
    """Standard error filtered while the block runs, and after it for as long as a thread of
    `runs` is alive: when the main thread leaves on an error (the database stopped answering
    its queries too), the run's thread still logs until the process ends."""
    noise = StorageNoise(sys.stderr)
    sys.stderr = noise  # type: ignore[assignment]
    try:
        yield noise
    finally:
        if not any(run.is_alive() for run in noise.runs):
            sys.stderr = noise.stream


ANNOUNCE_AFTER_SECONDS = 10.0
_HANDLER_NAME = "stream-stats-waits"

waits_log = logging.getLogger(WAITS_LOGGER)
notices_log = logging.getLogger(NOTICES_LOGGER)


def notice(line: str) -> None:
    """Something an operator should know now, though nothing failed (a cache rebuilt): one
    line on the notices logger, which the CLI prints as `  warning: <line>`."""
    notices_log.warning(" ".join(line.split()))


def one_line(text: object, limit: int = 400) -> str:
    """Text on one line (whitespace collapsed), at most `limit` characters: what every
    message, log line and record of the project shows."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def until_utc(seconds: float, now: dt.datetime | None = None) -> str:
    """`22:50:01 UTC`: the wall-clock end of a wait of `seconds` from now."""
    end = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=max(0.0, seconds))
    return end.strftime("%H:%M:%S UTC")


def wait_line(what: str, seconds: float, why: str, now: dt.datetime | None = None) -> str:
    """`<what>: <seconds> s, until HH:MM:SS UTC: <why>` (one line)."""
    return f"{what}: {seconds:.0f} s, until {until_utc(seconds, now)}: {why}"


def announce_wait(
    what: str, seconds: float, why: str, *, clean: Callable[[str], str] | None = None
) -> str:
    """Log one wait line on the waits logger (INFO) and return it, e.g. for Dagster's log.
    `clean` removes secrets (Cloudflare's error texts may echo the token)."""
    line = " ".join(wait_line(what, seconds, why).split())
    if clean is not None:
        line = clean(line)
    waits_log.info(line)
    return line


class _TerminalHandler(logging.StreamHandler):
    """A handler that writes to the terminal's stdout as it is when a line is emitted."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return terminal.out

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def show_waits(stream: TextIO | None = None) -> logging.Handler:
    """Print every wait line on `stream` (default the terminal's stdout, where the CLI's
    progress goes) as `  waiting: <what> ...`. Idempotent: a second call replaces the first."""
    for log, prefix in ((waits_log, "waiting"), (notices_log, "warning")):
        for old in [h for h in log.handlers if h.get_name() == _HANDLER_NAME]:
            log.removeHandler(old)
        handler = logging.StreamHandler(stream) if stream is not None else _TerminalHandler()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter(f"  {prefix}: %(message)s"))
        handler.setLevel(logging.INFO)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    return handler


class Watchdog:
    """Calls back for work still unfinished after a delay (a request without an answer).

    One daemon thread serves every watch of the process; it starts on the first watch and
    ends after a few idle seconds. A watch costs a dict entry, not a thread, so thousands of
    quick requests stay cheap, and nothing runs between a request's pacing and its sending."""

    IDLE_SECONDS = 5.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[float, Callable[[], object]]] = {}
        self._ids = itertools.count()
        self._running = False

    @contextlib.contextmanager
    def watch(self, after: float, callback: Callable[[], object]) -> Iterator[None]:
        """Run `callback` (in the watchdog's thread) if the block lasts more than `after` s."""
        with self._cond:
            key = next(self._ids)
            self._due[key] = (time.monotonic() + after, callback)
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._run, name="stream-stats-watchdog", daemon=True
                ).start()
            elif len(self._due) == 1:
                self._cond.notify()  # the thread sleeps without a deadline: give it this one
        try:
            yield
        finally:
            with self._cond:
                self._due.pop(key, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                due = [k for k, (t, _) in self._due.items() if t <= now]
                if due:
                    callbacks = [self._due.pop(k)[1] for k in due]
                    self._cond.release()
                    try:
                        for callback in callbacks:
                            with contextlib.suppress(Exception):  # a log line must not kill it
                                callback()
                    finally:
                        self._cond.acquire()
                    continue
                if not self._due:
                    self._cond.wait(self.IDLE_SECONDS)
                    if not self._due:
                        self._running = False
                        return
                    continue
                self._cond.wait(min(t for t, _ in self._due.values()) - now)


_watchdog = Watchdog()


def watchdog() -> Watchdog:
    """The process's watchdog."""
    return _watchdog
