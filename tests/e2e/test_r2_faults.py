"""`stream-stats collect` when R2 misbehaves (contract §7): the S3 endpoint going away in the
middle of a run, refused credentials, an unreachable endpoint and missing buckets.

Every failure must be one line on stderr naming the endpoint and the bucket (never a secret),
the exit status non-zero, and what is left in the bucket complete objects only: each one the
complete old or the complete new version, so that a re-run converges.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.keys import METADATA_CACHE_KEY
from stream_stats_dagster.storage import md5_hex
from tests.e2e.test_r2_collect import bucket_objects, expected_report_keys, r2_env, validate
from tests.support.pipeline import simulator_server
from tests.support.s3server import (
    TEST_ACCESS_KEY_ID,
    TEST_SECRET_ACCESS_KEY,
    S3Server,
    StubRequest,
    clear_aws_env,
    free_port,
    moto_server,
    s3_error,
    stub_s3_server,
)

DAY = "2025-03-11"
FIRST, LAST = "2025-03-10", "2025-03-12"
DAYS = ["2025-03-10", "2025-03-11", "2025-03-12"]


class TcpProxy:
    """A loopback TCP proxy in front of an S3 server that can stop and resume forwarding.

    `refuse()` closes the listening socket and cuts every open connection, so the endpoint
    behaves like a server that went away (connections refused, requests in flight broken);
    `resume()` listens on the same port again. The server behind it keeps its state, so what
    a broken run left behind can be inspected directly, and a re-run can go through the proxy.
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = 0
        self.refusals = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self.resume()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def resume(self) -> None:
        with self._lock:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        with self._lock:
            self.refusals += 1
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if listener is not None:
            _close(listener)
        for conn in conns:
            _close(conn)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # refused: the listener is closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(upstream)
                    continue
                self._conns.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            _close(src)
            _close(dst)

    def close(self) -> None:
        self.refuse()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv/accept on it
    sock.close()


@pytest.fixture(scope="module")
def moto() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as mp:
        clear_aws_env(mp)
        with moto_server() as server:
            yield server


def one_error_line(capsys) -> tuple[str, str]:
    """(the single stderr line, everything printed)."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("stream-stats: error: ")
    return lines[0], captured.out + captured.err


def assert_no_secret(text: str) -> None:
    assert TEST_SECRET_ACCESS_KEY not in text
    assert "sim-token" not in text


# -- (a) the endpoint goes away in the middle of a run ----------------------------------------


def shared(objects: dict[str, bytes]) -> dict[str, bytes]:
    """The objects but each creator's own files, whose number follows the creators with
    views (a set converges through its manifest: the last check below), and the per-video
    minutes and catalogue snapshots, which have no model in `expected_report_keys`."""
    return {
        k: v
        for k, v in objects.items()
        if not k.startswith("stream-stats/creators/")
        and not k.endswith(("-uid-minutes.json", "-video-catalog.json"))
    }


def test_endpoint_lost_mid_run_leaves_complete_objects_and_a_rerun_converges(
    moto, monkeypatch, tmp_path, capsys
):
    """Old data (fewer views) is collected first; then the same days are collected again
    from the "late data" simulator, and the proxy stops forwarding as soon as the first new
    derived file has landed. Every object left must be byte for byte its complete old or its
    complete new version; a re-run through the restored proxy must converge to exactly what
    a clean run of the new data writes."""
    for bucket in ("stats-fault", "logs-fault", "stats-clean", "logs-clean"):
        moto.create_bucket(bucket)
    proxy = TcpProxy(int(moto.endpoint_url.rsplit(":", 1)[1]))
    client = moto.client()  # direct, behind the proxy's back
    collect = ["collect", "--from", FIRST, "--to", LAST]
    common = {"STREAM_STATS_START_DATE": FIRST, "STREAM_STATS_TOP_VIDEOS": "10"}
    models = expected_report_keys(DAYS)
    try:
        with (
            simulator_server() as (_, old_url),
            simulator_server(records_per_hour=520) as (_, new_url),
        ):
            fault = {"STATS_BUCKET": "stats-fault", "LOG_BUCKET": "logs-fault", **common}
            r2_env(monkeypatch, tmp_path, old_url, proxy.endpoint_url, **fault)
            assert cli.main(collect) == 0
            old = bucket_objects(client, "stats-fault")
            assert set(models) <= set(old)

            clean = {"STATS_BUCKET": "stats-clean", "LOG_BUCKET": "logs-clean", **common}
            r2_env(monkeypatch, tmp_path, new_url, moto.endpoint_url, **clean)
            assert cli.main(collect) == 0
            new = bucket_objects(client, "stats-clean")
            # the late data has more creators with views: more creator files; the rest agree
            assert shared(new).keys() == shared(old).keys()
            changing = {k for k in models if new[k] != old[k]}
            assert len(changing) > len(models) // 2  # the late data changes most files
            capsys.readouterr()

            # The faulty run: stop forwarding once the first new derived file is in the bucket
            # (all raw extracts are new by then, the daily/rolling files partly). Not in the
            # raw step: its RetryPolicy tries once more a minute (+-jitter) later, which
            # would only make this test slow.
            r2_env(monkeypatch, tmp_path, new_url, proxy.endpoint_url, **fault)
            old_etags = {k: f'"{md5_hex(old[k])}"' for k in models if "/raw/" not in k}
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    # one page (1,000 keys) of each derived prefix: the creators' files alone
                    # are more than a page
                    listings = [
                        client.list_objects_v2(Bucket="stats-fault", Prefix=f"stream-stats/{p}/")
                        for p in ("daily", "rolling", "weekly")
                    ]
                    if any(
                        item["Key"] in old_etags and item["ETag"] != old_etags[item["Key"]]
                        for listing in listings
                        for item in listing.get("Contents", ())
                    ):
                        proxy.refuse()
                        return
                    time.sleep(0.01)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            try:
                code = cli.main(collect)
            finally:
                stop.set()
                watcher.join(timeout=10)
            assert proxy.refusals == 1, "the run finished before the endpoint went away"
            assert code == 1
            line, everything = one_error_line(capsys)
            assert f"cannot reach R2 endpoint {proxy.endpoint_url}" in line
            assert "(bucket stats-fault)" in line or "(bucket logs-fault)" in line
            assert_no_secret(everything)

            # what the broken run left: complete objects only, each its old or new version
            left = bucket_objects(client, "stats-fault")  # asserts ETag == MD5(body) for each
            left, revisions = current_and_revisions(left)
            assert shared(left).keys() == shared(old).keys()
            # each raw file the run replaced kept its previous version as a revision
            assert revisions and set(revisions.values()) <= set(old.values())
            for key, body in shared(left).items():
                validate(key, body, models)
                if key != METADATA_CACHE_KEY:
                    assert body in (old[key], new[key]), key
            now_new = {k for k in changing if left[k] == new[k]}
            still_old = {k for k in changing if left[k] == old[k]}
            assert now_new and still_old  # the run really was cut in the middle

            # the endpoint is back: the same command converges to the clean run's bytes
            proxy.resume()
            assert cli.main(collect) == 0
            after, _ = current_and_revisions(bucket_objects(client, "stats-fault"))
            assert after.keys() == new.keys()
            differing = [k for k in new if k != METADATA_CACHE_KEY and after[k] != new[k]]
            assert differing == []
    finally:
        proxy.close()


def current_and_revisions(objects: dict[str, bytes]) -> tuple[dict, dict]:
    """The objects split into the current files and the raw revisions kept beside them."""
    revisions = {k: v for k, v in objects.items() if "/raw/revisions/" in k}
    return {k: v for k, v in objects.items() if k not in revisions}, revisions


# -- (b) refused credentials ---------------------------------------------------------------


def _refuse_everything(request: StubRequest):
    return s3_error(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    )


@pytest.mark.parametrize(
    "start_date",
    [
        pytest.param("2025-03-01", id="while-planning"),  # lead days: checked before any run
        pytest.param(DAY, id="inside-the-run"),  # no lead days: the first step meets it
    ],
)
def test_refused_credentials_are_one_line_without_the_secret(
    monkeypatch, tmp_path, capsys, start_date
):
    with (
        simulator_server() as (_, sim_url),
        stub_s3_server(_refuse_everything) as stub,
    ):
        r2_env(
            monkeypatch,
            tmp_path,
            sim_url,
            stub.endpoint_url,
            STREAM_STATS_START_DATE=start_date,
            STREAM_STATS_TOP_VIDEOS="5",
        )
        assert cli.main(["collect", "--date", DAY]) == 1
        line, everything = one_error_line(capsys)
    assert (
        f"R2 refused the credentials for bucket points-system-bucket at {stub.endpoint_url} "
        "(InvalidAccessKeyId)"
    ) in line
    assert_no_secret(everything)
    # the secret never travels either: SigV4 sends the key id and a signature only
    assert stub.requests
    for request in stub.requests:
        assert TEST_ACCESS_KEY_ID in request.headers.get("Authorization", "")
        assert TEST_SECRET_ACCESS_KEY not in repr(request)


# -- (c) unreachable endpoint --------------------------------------------------------------


def test_unreachable_endpoint_is_one_line(monkeypatch, tmp_path, capsys):
    endpoint = f"http://127.0.0.1:{free_port()}"
    with simulator_server() as (_, sim_url):
        r2_env(monkeypatch, tmp_path, sim_url, endpoint, STREAM_STATS_TOP_VIDEOS="5")
        started = time.monotonic()
        assert cli.main(["collect", "--date", DAY]) == 1
        elapsed = time.monotonic() - started
        line, everything = one_error_line(capsys)
    assert line.endswith(f"cannot reach R2 endpoint {endpoint} (bucket points-system-bucket)")
    assert_no_secret(everything)
    assert elapsed < 60


# -- (d) missing buckets -------------------------------------------------------------------


def test_missing_stats_bucket_names_it(moto, monkeypatch, tmp_path, capsys):
    moto.create_bucket("logs-present")
    with simulator_server() as (_, sim_url):
        r2_env(
            monkeypatch,
            tmp_path,
            sim_url,
            moto.endpoint_url,
            STATS_BUCKET="stats-absent",
            LOG_BUCKET="logs-present",
            STREAM_STATS_TOP_VIDEOS="5",
        )
        assert cli.main(["collect", "--date", DAY]) == 1
        line, everything = one_error_line(capsys)
    assert f"bucket stats-absent does not exist at {moto.endpoint_url}" in line
    assert_no_secret(everything)


def test_missing_log_bucket_fails_the_collect(moto, monkeypatch, tmp_path, capsys):
    """The reports land, but without its operation log record the collection did not
    entirely succeed: exit 1, one line naming the log bucket (a re-run writes it)."""
    moto.create_bucket("stats-present")
    with simulator_server() as (_, sim_url):
        env = {
            "STATS_BUCKET": "stats-present",
            "LOG_BUCKET": "logs-absent",
            "STREAM_STATS_START_DATE": DAY,
            "STREAM_STATS_TOP_VIDEOS": "5",
        }
        r2_env(monkeypatch, tmp_path, sim_url, moto.endpoint_url, **env)
        assert cli.main(["collect", "--date", DAY]) == 1
        line, everything = one_error_line(capsys)
        assert "operation log not written" in line
        assert f"bucket logs-absent does not exist at {moto.endpoint_url}" in line
        assert_no_secret(everything)
        moto.create_bucket("logs-absent")
        assert cli.main(["collect", "--date", DAY]) == 0
    logs = moto.client().list_objects_v2(Bucket="logs-absent").get("Contents", [])
    assert {item["Key"].rsplit("/", 1)[1].split("-")[0] for item in logs} == {
        "collectDailyStats",
        "updateRollingStats",
    }
