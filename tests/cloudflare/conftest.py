from __future__ import annotations

from collections.abc import Callable

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
