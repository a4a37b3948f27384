from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from tests.fixtures import CLOUDFLARE_SCHEMA as SCHEMA_PATH


@pytest.fixture(scope="session")
def analytics_schema() -> GraphQLSchema:
    """The real Cloudflare schema dump (building it takes a few seconds: once per session)."""
    return build_schema(SCHEMA_PATH.read_text())


@pytest.fixture(scope="session")
def assert_valid(analytics_schema: GraphQLSchema) -> Callable[[str], None]:
    """Assert that a GraphQL document validates against the real schema."""

    def check(document: str) -> None:
        errors = validate(analytics_schema, parse(document))
        assert not errors, "\n".join(e.message for e in errors) + "\n" + document

    return check


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()
