from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from stream_stats_dagster.storage import LocalStore, ObjectStore
from tests.support.s3server import S3Server, clear_aws_env, moto_server, r2_store_for


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_aws_env(monkeypatch)


@pytest.fixture(scope="session")
def moto() -> Iterator[S3Server]:
    """One moto_server subprocess for the session; tests use their own buckets."""
    with pytest.MonkeyPatch.context() as mp, moto_server() as server:
        clear_aws_env(mp)
        server.client()  # built with a clean environment, then cached
        yield server


@pytest.fixture(scope="session")
def moto_store(moto: S3Server):
    """One R2Store on the session's moto server (boto3 clients are thread-safe)."""
    with pytest.MonkeyPatch.context() as mp:
        clear_aws_env(mp)
        return r2_store_for(moto.endpoint_url)


@pytest.fixture
def bucket() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["local", "r2"])
def store(request: pytest.FixtureRequest, tmp_path, bucket: str) -> ObjectStore:
    """The same tests on both backends; `bucket` exists (R2) or is created on demand (local)."""
    if request.param == "local":
        return LocalStore(tmp_path / "data")
    request.getfixturevalue("moto").create_bucket(bucket)
    return request.getfixturevalue("moto_store")
