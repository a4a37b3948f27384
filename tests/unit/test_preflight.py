"""`stream-stats check` (preflight.run_checks): one `ok`/`FAIL` line per check, exit 0 only if
all pass, and never a secret in the output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stream_stats_dagster import cli
from stream_stats_dagster.preflight import run_checks
from tests.support.pipeline import pipeline_env, simulator_server
from tests.support.s3server import (
    TEST_SECRET_ACCESS_KEY,
    S3Server,
    clear_aws_env,
    free_port,
    moto_server,
)

WRONG_TOKEN = "wrong-token-5f2c9d1e"


@pytest.fixture(scope="module")
def guarded_sim() -> Iterator[str]:
    """The simulator over loopback HTTP, accepting only its own token (`sim-token`)."""
    with simulator_server(require_token=True) as (_, base_url):
        yield base_url


@pytest.fixture(scope="module")
def moto() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as mp:
        clear_aws_env(mp)
        with moto_server() as server:
            yield server


def check_lines(capsys) -> tuple[list[str], str]:
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("stream-stats check: ")
    body = lines[1:]
    assert body and all(line.startswith(("ok   ", "FAIL ")) for line in body), body
    return body, captured.out + captured.err


def test_everything_ok_with_the_right_token_and_local_storage(
    monkeypatch, tmp_path, guarded_sim, capsys
):
    pipeline_env(monkeypatch, tmp_path, guarded_sim)
    assert run_checks() == 0
    lines, _ = check_lines(capsys)
    assert [line[:5] for line in lines] == ["ok   "] * 4
    assert any("GraphQL" in line for line in lines)
    assert any("Stream read" in line for line in lines)
    assert any("STATS_BUCKET points-system-bucket (local directory" in line for line in lines)
    assert any("LOG_BUCKET logs-bucket (local directory" in line for line in lines)
    # the probe objects are gone again
    assert not list((tmp_path / "data").rglob("*.json"))


def test_wrong_token_fails_both_cloudflare_checks_without_showing_it(
    monkeypatch, tmp_path, guarded_sim, capsys
):
    pipeline_env(monkeypatch, tmp_path, guarded_sim, CLOUDFLARE_API_TOKEN=WRONG_TOKEN)
    assert cli.main(["check"]) == 1
    lines, everything = check_lines(capsys)
    assert WRONG_TOKEN not in everything
    failed = [line for line in lines if line.startswith("FAIL ")]
    assert len(failed) == 2
    graphql, stream = failed
    assert "GraphQL" in graphql and "refused the API token" in graphql
    assert "Account Analytics: Read" in graphql and "sim-account" in graphql
    assert "Stream read" in stream and "Stream: Read" in stream
    # storage is still checked, and is fine
    assert sum(line.startswith("ok   ") and "BUCKET" in line for line in lines) == 2


def test_simulator_source_says_so(monkeypatch, tmp_path, capsys):
    pipeline_env(monkeypatch, tmp_path, "http://127.0.0.1:9/client/v4")
    for name in ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_BASE_URL"):
        monkeypatch.delenv(name)
    assert run_checks() == 0
    lines, _ = check_lines(capsys)
    assert "built-in simulator is the source" in lines[0]
    assert len(lines) == 3


def test_missing_bucket_on_s3_names_the_bucket(monkeypatch, tmp_path, guarded_sim, moto, capsys):
    moto.create_bucket("stats-present")
    pipeline_env(
        monkeypatch,
        tmp_path,
        guarded_sim,
        R2_ENDPOINT_URL=moto.endpoint_url,
        R2_ACCESS_KEY_ID="test-access-key-id",
        R2_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
        STATS_BUCKET="stats-present",
        LOG_BUCKET="logs-absent",
    )
    clear_aws_env(monkeypatch)
    assert run_checks() == 1
    lines, everything = check_lines(capsys)
    assert TEST_SECRET_ACCESS_KEY not in everything and "sim-token" not in everything
    stats = next(line for line in lines if "STATS_BUCKET" in line)
    logs = next(line for line in lines if "LOG_BUCKET" in line)
    assert stats == f"ok   STATS_BUCKET stats-present (R2 {moto.endpoint_url})"
    assert logs.startswith("FAIL LOG_BUCKET logs-absent")
    assert f"bucket logs-absent does not exist at {moto.endpoint_url}" in logs
    assert moto.client().list_objects_v2(Bucket="stats-present").get("KeyCount") == 0


def test_unreachable_endpoint_is_one_line_per_bucket(monkeypatch, tmp_path, guarded_sim, capsys):
    endpoint = f"http://127.0.0.1:{free_port()}"
    pipeline_env(
        monkeypatch,
        tmp_path,
        guarded_sim,
        R2_ENDPOINT_URL=endpoint,
        R2_ACCESS_KEY_ID="test-access-key-id",
        R2_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
    )
    clear_aws_env(monkeypatch)
    assert run_checks() == 1
    lines, everything = check_lines(capsys)
    assert TEST_SECRET_ACCESS_KEY not in everything
    failed = [line for line in lines if line.startswith("FAIL ")]
    assert len(failed) == 2
    assert all(f"cannot reach R2 endpoint {endpoint}" in line for line in failed)


def test_configuration_error_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    pipeline_env(monkeypatch, tmp_path, "http://127.0.0.1:9/client/v4")
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID")
    assert run_checks() == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "stream-stats: error: CLOUDFLARE_API_TOKEN is set but CLOUDFLARE_ACCOUNT_ID is missing\n"
    )
