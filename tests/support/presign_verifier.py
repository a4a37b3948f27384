"""An S3 GET endpoint on loopback that checks presigned links the way R2 does: the SigV4
query signature (recomputed with botocore's own signer from the known keys), the signed
host, and the expiry. A link that passes is answered from an object store (moto here).

moto_server does not check presigned URLs (its IAM authentication reads only the
`Authorization` header), so the link tests verify against this.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGNED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


def verify(url: str, host: str, keys: dict[str, str], now: dt.datetime) -> str | None:
    """Why the presigned GET `url` (received on `host`) is refused, or None if it is good."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if any(name not in params for name in SIGNED):
        return "not a presigned SigV4 URL"
    if params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        return "not SigV4"
    key_id, _, region, service, _ = params["X-Amz-Credential"].split("/")
    if key_id not in keys or service != "s3":
        return "unknown access key"
    signed_at = dt.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    if now > signed_at + dt.timedelta(seconds=int(params["X-Amz-Expires"])):
        return "expired"
    if now < signed_at - dt.timedelta(minutes=15):
        return "signed in the future"
    rest = [(k, v) for k, v in query if k != "X-Amz-Signature"]
    unsigned = urllib.parse.urlunsplit(
        ("http", host, parts.path, urllib.parse.urlencode(rest, quote_via=urllib.parse.quote), "")
    )
    auth = S3SigV4QueryAuth(
        Credentials(key_id, keys[key_id]), "s3", region, expires=int(params["X-Amz-Expires"])
    )
    request = AWSRequest(method="GET", url=unsigned, headers={})
    request.context["timestamp"] = params["X-Amz-Date"]
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        return "signature does not match"
    return None


@contextlib.contextmanager
def verifying_server(store, keys: dict[str, str]) -> Iterator[str]:
    """Serve `GET /<bucket>/<key>` from `store` to good presigned links; 403 otherwise.
    Yields the endpoint URL (`http://127.0.0.1:<port>`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            why = verify(self.path, self.headers["Host"], keys, dt.datetime.now(dt.UTC))
            if why is not None:
                self._answer(
                    403, f"<Error><Code>AccessDenied</Code><Message>{why}</Message></Error>"
                )
                return
            bucket, _, key = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)[
                1:
            ].partition("/")
            found = store.get(bucket, key)
            if found is None:
                self._answer(404, "<Error><Code>NoSuchKey</Code></Error>")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(found.body)))
            self.end_headers()
            self.wfile.write(found.body)

        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
