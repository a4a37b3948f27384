"""A fake of the IVS real-time API's two list calls, for the tests and the demo: an HTTP server
on a free loopback port that boto3's `ivs-realtime` client reaches through `endpoint_url`,
speaking the REST-JSON protocol of botocore's model (`POST /ListStageSessions`,
`POST /ListParticipants`, JSON bodies, errors as `x-amzn-ErrorType`). It does not check
signatures.

It knows the truth from a callable: stage ARN -> the participants connected now (the
simulator's viewers who did not leave, `Simulator.connected`). A stage with participants has
a current session (no `endTime`) after an ended one; a stage without has only the ended one.
Participants it once answered as connected and who left stay in the session as DISCONNECTED,
so a client that does not filter by state counts them. Pages are real: `maxResults` 1..100
(400 otherwise), `nextToken` an opaque offset. Every call is counted, by operation.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Truth = Callable[[], dict[str, list[str]]]  # stage ARN -> connected participant ids

STARTED = 1_741_600_000.0  # sessions' start times (epoch seconds), any fixed instant


class FakeIvs:
    def __init__(self, truth: Truth, port: int = 0):
        self.truth = truth
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict]] = []
        self.seen: dict[str, set[str]] = {}  # stage -> participants ever seen connected
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeIvs:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeIvs:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the API ------------------------------------------------------------------------------

    def answer(self, operation: str, body: dict) -> tuple[int, dict]:
        with self.lock:
            self.calls[operation] += 1
            self.requests.append((operation, body))
        arn = body.get("stageArn")
        if not isinstance(arn, str):
            return 400, _error("ValidationException", "stageArn is required")
        size = body.get("maxResults", 50)
        if not isinstance(size, int) or not 1 <= size <= 100:
            return 400, _error("ValidationException", "maxResults must be 1..100")
        truth = self.truth()
        connected = truth.get(arn)
        if connected is None:
            return 404, _error("ResourceNotFoundException", "no such stage")
        with self.lock:
            seen = self.seen.setdefault(arn, set())
            seen.update(connected)
            gone = seen - set(connected)
        ended = {"sessionId": _session(arn, 0), "startTime": STARTED, "endTime": STARTED + 60}
        if operation == "ListStageSessions":
            sessions = [ended]
            if connected:
                sessions.insert(0, {"sessionId": _session(arn, 1), "startTime": STARTED + 120})
            return 200, _page("stageSessions", sessions, body, size)
        if operation == "ListParticipants":
            if body.get("sessionId") != _session(arn, 1) or not connected:
                return 200, _page("participants", [], body, size)
            people = [_participant(p, "CONNECTED") for p in sorted(connected)]
            people += [_participant(p, "DISCONNECTED") for p in sorted(gone)]
            state = body.get("filterByState")
            if state is not None:
                people = [p for p in people if p["state"] == state]
            return 200, _page("participants", people, body, size)
        return 404, _error("UnknownOperationException", operation)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    status, reply = 400, _error("SerializationException", "not JSON")
                else:
                    status, reply = fake.answer(self.path.strip("/").split("?")[0], body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status >= 400:
                    self.send_header("x-amzn-ErrorType", reply["__type"])
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                return None

        return Handler


def _session(arn: str, n: int) -> str:
    return "st-" + hashlib.sha256(f"{arn}/{n}".encode()).hexdigest()[:13]  # 16 characters


def _participant(pid: str, state: str) -> dict:
    return {
        "participantId": pid,
        "userId": pid,
        "state": state,
        "firstJoinTime": STARTED + 130,
        "published": False,
    }


def _page(name: str, items: list, body: dict, size: int) -> dict:
    token = body.get("nextToken")
    try:
        offset = int(token) if token else 0
    except ValueError:
        offset = 0
    page = {name: items[offset : offset + size]}
    if offset + size < len(items):
        page["nextToken"] = str(offset + size)
    return page


def _error(kind: str, message: str) -> dict:
    return {"__type": kind, "message": message}
