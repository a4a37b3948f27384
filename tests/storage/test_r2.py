"""R2 specifics: client configuration, wire format, and one-line errors without secrets."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from stream_stats_dagster.config import Settings
from stream_stats_dagster.storage import (
    AccessDenied,
    BucketNotFound,
    LocalStore,
    PreconditionFailed,
    StorageError,
    StorageUnavailable,
    make_store,
    md5_hex,
)
from stream_stats_dagster.storage.preflight import check_bucket
from tests.support.s3server import (
    StubRequest,
    StubResponse,
    free_port,
    moto_server,
    r2_store_for,
    s3_error,
    stub_s3_server,
)

SECRET = "sk-DO-NOT-LEAK-0123456789abcdef"
KEY = "stream-stats/daily/2025-03/2025-03-11-summary.json"


def test_r2_client_config() -> None:
    from stream_stats_dagster.storage.r2 import make_r2_client

    client = make_r2_client(
        endpoint_url="https://acct.r2.cloudflarestorage.com",
        aws_access_key_id="id",
        aws_secret_access_key=SECRET,
        max_attempts=3,
    )
    config = client.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    assert client.meta.region_name == "auto"
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}  # 3 retries
    assert (config.connect_timeout, config.read_timeout) == (10.0, 60.0)
    assert client.meta.endpoint_url == "https://acct.r2.cloudflarestorage.com"


def test_stray_aws_profile_is_ignored_with_explicit_keys(monkeypatch) -> None:
    from stream_stats_dagster.storage.r2 import make_r2_client

    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    client = make_r2_client(
        endpoint_url="http://127.0.0.1:1", aws_access_key_id="id", aws_secret_access_key=SECRET
    )
    assert client.meta.region_name == "auto"


def test_put_wire_format() -> None:
    """One checksum only (Content-MD5), no CRC32/aws-chunked, region `auto` in the scope."""

    def handler(request: StubRequest) -> StubResponse:
        if request.method == "HEAD":
            return StubResponse(404)
        return StubResponse(200, headers={"ETag": f'"{md5_hex(request.body)}"'})

    body = '{"creator":"첫사랑"}\n'.encode()
    with stub_s3_server(handler) as stub:
        store = r2_store_for(stub.endpoint_url)
        assert store.put("b", KEY, body, cache_control="max-age=60").written
        assert store.put("b", KEY, body, if_none_match=True).written
        assert store.put("b", KEY, body + b" ", if_match="0" * 32).written
    head, put, put_none, put_match = stub.requests
    assert head.method == "HEAD" and put.method == "PUT" and put.body == body
    headers = {k.lower(): v for k, v in put.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "max-age=60"
    assert "content-md5" in headers
    assert not [h for h in headers if h.startswith("x-amz-checksum") or "trailer" in h]
    assert "x-amz-sdk-checksum-algorithm" not in headers
    assert "aws-chunked" not in headers.get("content-encoding", "")
    assert "/auto/s3/aws4_request" in headers["authorization"]
    assert put_none.headers.get("If-None-Match") == "*"
    assert put_match.headers.get("If-Match") == '"' + "0" * 32 + '"'


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "InvalidAccessKeyId"), (403, "SignatureDoesNotMatch"), (401, "Unauthorized")],
)
def test_refused_credentials(status: int, code: str) -> None:
    with stub_s3_server(lambda request: s3_error(status, code, "refused")) as stub:
        store = r2_store_for(stub.endpoint_url, aws_secret_access_key=SECRET)
        expected = f"R2 refused the credentials for bucket stats at {stub.endpoint_url} ({code})"
        for call in (
            lambda: store.put("stats", KEY, b"{}"),
            lambda: store.get("stats", KEY),
            lambda: store.head("stats", KEY),
            lambda: store.list("stats", "stream-stats/"),
            lambda: store.delete("stats", KEY),
        ):
            with pytest.raises(AccessDenied) as info:
                call()
            assert str(info.value) == expected
            assert SECRET not in str(info.value) and SECRET not in repr(info.value)
            assert info.value.__cause__ is None and info.value.__suppress_context__
        assert check_bucket(store, "stats") == expected
        # no retries for refused credentials: one request per call (HEAD + GET for diagnosis)
        assert len(stub.requests) < 12


def test_unreachable_endpoint() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    store = r2_store_for(url, max_attempts=0, connect_timeout=2)
    for call in (
        lambda: store.put("stats", KEY, b"{}"),
        lambda: store.get("stats", KEY),
        lambda: store.list("stats", ""),
    ):
        with pytest.raises(StorageUnavailable) as info:
            call()
        assert str(info.value) == f"cannot reach R2 endpoint {url} (bucket stats)"
    assert check_bucket(store, "stats") == f"cannot reach R2 endpoint {url} (bucket stats)"


def test_missing_bucket(moto) -> None:
    store = r2_store_for(moto.endpoint_url)
    expected = f"bucket no-such-bucket does not exist at {moto.endpoint_url}"
    for call in (
        lambda: store.put("no-such-bucket", KEY, b"{}"),
        lambda: store.get("no-such-bucket", KEY),
        lambda: store.list("no-such-bucket", ""),
    ):
        with pytest.raises(BucketNotFound) as info:
            call()
        assert str(info.value) == expected
    assert store.head("no-such-bucket", KEY) is None  # HEAD 404 cannot tell key from bucket
    assert check_bucket(store, "no-such-bucket") == expected


def test_content_type_and_cache_control_are_stored(moto, moto_store, bucket) -> None:
    moto.create_bucket(bucket)
    moto_store.put(bucket, KEY, b"{}\n", cache_control="public, max-age=300")
    moto_store.put(bucket, "plain.json", b"[]\n")
    head = moto.client().head_object(Bucket=bucket, Key=KEY)
    assert head["ContentType"] == "application/json"
    assert head["CacheControl"] == "public, max-age=300"
    assert moto.client().head_object(Bucket=bucket, Key="plain.json")["ContentType"] == (
        "application/json"
    )


def _lost_response_server(final_etag: str):
    """First PUT "commits" but answers 500; the retry then gets 412; HEAD shows `final_etag`."""
    puts = []

    def handler(request: StubRequest) -> StubResponse:
        if request.method == "PUT":
            puts.append(request)
            if len(puts) == 1:
                return s3_error(500, "InternalError")
            return s3_error(412, "PreconditionFailed")
        if request.method == "HEAD" and puts:
            return StubResponse(200, headers={"ETag": f'"{final_etag}"'})
        return StubResponse(404)

    return stub_s3_server(handler)


def test_retried_conditional_put_that_committed_counts_as_written() -> None:
    body = b'{"endDate":"2025-03-11"}\n'
    with _lost_response_server(md5_hex(body)) as stub:
        store = r2_store_for(stub.endpoint_url, max_attempts=1)
        result = store.put("b", KEY, body, if_none_match=True)
    assert result.written and result.etag == md5_hex(body)
    assert [r.method for r in stub.requests] == ["PUT", "PUT", "HEAD"]


def test_retried_conditional_put_that_lost_is_precondition_failed() -> None:
    body = b'{"endDate":"2025-03-11"}\n'
    with _lost_response_server("f" * 32) as stub:
        store = r2_store_for(stub.endpoint_url, max_attempts=1)
        with pytest.raises(PreconditionFailed):
            store.put("b", KEY, body, if_none_match=True)


def test_server_stopped_mid_test() -> None:
    with moto_server() as server:
        server.create_bucket("stats")
        store = r2_store_for(server.endpoint_url, max_attempts=0, connect_timeout=2)
        assert store.put("stats", KEY, b"{}").written
        server.stop()
        assert not server.running
        with pytest.raises(StorageUnavailable, match="cannot reach R2 endpoint"):
            store.get("stats", KEY)


def test_make_store(tmp_path) -> None:
    local = make_store(Settings(source="simulator", local_dir=str(tmp_path)))
    assert isinstance(local, LocalStore) and local.describe() == f"local directory {tmp_path}"
    r2 = make_store(
        Settings(
            source="simulator",
            r2_endpoint_url="https://acct.r2.cloudflarestorage.com",
            r2_access_key_id=SecretStr("id"),
            r2_secret_access_key=SecretStr(SECRET),
        )
    )
    assert r2.describe() == "R2 https://acct.r2.cloudflarestorage.com"
    assert SECRET not in repr(r2) and SECRET not in r2.describe()
    assert r2.client.meta.config.request_checksum_calculation == "when_required"


def test_credentials_in_endpoint_url_are_redacted() -> None:
    from stream_stats_dagster.storage.r2 import redact_url

    assert redact_url(f"https://id:{SECRET}@acct.r2.cloudflarestorage.com:443/x") == (
        "https://acct.r2.cloudflarestorage.com:443/x"
    )
    assert redact_url("http://127.0.0.1:9000") == "http://127.0.0.1:9000"


def test_storage_errors_are_one_line() -> None:
    for cls in (AccessDenied, BucketNotFound, PreconditionFailed, StorageUnavailable):
        assert issubclass(cls, StorageError)
