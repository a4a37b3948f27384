"""HTTP responses in Cloudflare's two shapes: GraphQL (`data` + `errors`) and the REST envelope.

Bodies are compact UTF-8 JSON like Cloudflare's; the same bytes go out over the in-process
transport and the HTTP server.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


REASONS: dict[int, str] = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(
        status,
        dumps(obj),
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("cf-ray", f"{secrets.token_hex(8)}-SIM"),
            *(headers or []),
        ],
    )


def timestamp(now: float) -> str:
    """Cloudflare's error timestamp, RFC 3339 with fractional seconds."""
    t = dt.datetime.fromtimestamp(now, dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def graphql_error(
    message: str,
    now: float,
    path: list[str] | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    extensions: dict[str, Any] = {"timestamp": timestamp(now)}
    if code:
        extensions = {"code": code, **extensions}
    return {"message": message, "path": path, "extensions": extensions}


def graphql_errors(
    status: int,
    errors: list[dict[str, Any]],
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    return json_response(status, {"data": None, "errors": errors}, headers)


def rest_error(
    status: int, code: int, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    body = {
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
        "result": None,
    }
    return json_response(status, body, headers)


def rest_ok(result: Any, **extra: Any) -> Response:
    return json_response(
        200, {"success": True, "errors": [], "messages": [], "result": result, **extra}
    )
