"""The simulator's trimmed schema must be a faithful subset of Cloudflare's: every type, field,
argument, enum value and input field it keeps exists in the introspection dump with the same
type, so a query that validates here validates against the real API."""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    parse,
    validate,
)

from stream_stats_dagster.simulator import stream_schema
from tests.fixtures import CLOUDFLARE_SCHEMA as DUMP


@pytest.fixture(scope="session")
def dump() -> GraphQLSchema:
    """The full dump takes ~3.5 s to build: once per session."""
    assert DUMP.exists(), f"Cloudflare schema dump not found at {DUMP}"
    return build_schema(DUMP.read_text(encoding="utf-8"))


def test_every_kept_definition_is_identical_in_the_dump(dump: GraphQLSchema) -> None:
    trimmed = stream_schema()
    checked = 0
    for name, t in trimmed.type_map.items():
        if name.startswith("__"):
            continue
        d = dump.type_map.get(name)
        assert d is not None, f"type {name} is not in the dump"
        assert type(d) is type(t), f"{name}: {type(t).__name__} here, {type(d).__name__} there"
        if isinstance(t, GraphQLObjectType):
            assert isinstance(d, GraphQLObjectType)
            for fname, f in t.fields.items():
                df = d.fields.get(fname)
                assert df is not None, f"{name}.{fname} is not in the dump"
                assert str(f.type) == str(df.type), f"{name}.{fname}: {f.type} vs {df.type}"
                assert set(f.args) == set(df.args), f"{name}.{fname} arguments differ"
                for aname, a in f.args.items():
                    assert str(a.type) == str(df.args[aname].type), f"{name}.{fname}({aname})"
                checked += 1
        elif isinstance(t, GraphQLInputObjectType):
            assert isinstance(d, GraphQLInputObjectType)
            for fname, f in t.fields.items():
                df = d.fields.get(fname)
                assert df is not None, f"input {name}.{fname} is not in the dump"
                assert str(f.type) == str(df.type), f"input {name}.{fname}"
                checked += 1
            required = {n for n, f in d.fields.items() if str(f.type).endswith("!")}
            assert required <= set(t.fields), f"input {name} drops required fields"
        elif isinstance(t, GraphQLEnumType):
            assert isinstance(d, GraphQLEnumType)
            assert set(t.values) <= set(d.values), f"enum {name} has values the dump lacks"
            checked += len(t.values)
        else:
            assert isinstance(t, GraphQLScalarType)
    assert checked > 100


def test_stream_types_are_kept_whole(dump: GraphQLSchema) -> None:
    """The Stream node's own types are copied complete, not just consistent."""
    trimmed = stream_schema()
    for name in (
        "AccountStreamMinutesViewedAdaptiveGroups",
        "AccountStreamMinutesViewedAdaptiveGroupsDimensions",
        "AccountStreamMinutesViewedAdaptiveGroupsSum",
        "AccountStreamMinutesViewedAdaptiveGroupsFilter_InputObject",
        "AccountStreamMinutesViewedAdaptiveGroupsOrderBy",
        "AccountFilter_InputObject",
        "Settings",
    ):
        mine, theirs = trimmed.type_map[name], dump.type_map[name]
        members = "values" if isinstance(mine, GraphQLEnumType) else "fields"
        assert set(getattr(mine, members)) == set(getattr(theirs, members)), name


DAY_QUERY = """
query Day($acc: string!, $start: Time!, $end: Time!, $after: string) {
  cost
  viewer {
    budget
    accounts(filter: {accountTag: $acc}) {
      settings { streamMinutesViewedAdaptiveGroups { maxPageSize maxDuration notOlderThan } }
      creators: streamMinutesViewedAdaptiveGroups(
        filter: {datetime_geq: $start, datetime_lt: $end, creator_gt: $after},
        limit: 10000, orderBy: [creator_ASC]) { count sum { minutesViewed } dimensions { creator } }
      videos: streamMinutesViewedAdaptiveGroups(
        filter: {AND: [{datetime_geq: $start}, {datetime_lt: $end}],
                 OR: [{uid_like: "a%"}, {uid_notin: ["x"]}]},
        limit: 1000, orderBy: [sum_minutesViewed_DESC, count_DESC, uid_ASC]) {
        count sum { minutesViewed } dimensions { uid creator date datetimeHour mediaType }
      }
    }
  }
}
"""


@pytest.mark.parametrize(
    ("query", "valid"),
    [
        (DAY_QUERY, True),
        ("{ viewer { accounts(filter:{accountTag:\"a\"}) { streamMinutesViewedAdaptiveGroups("
         "filter:{date_geq:\"2025-01-01\"}) { count } } } }", False),  # no limit
        ("{ viewer { accounts(filter:{accountTag:\"a\"}) { streamMinutesViewedAdaptiveGroups("
         "filter:{date_geq:\"2025-01-01\"}, limit: 1) { avg { sampleInterval } } } } }", False),
        ("{ viewer { accounts(filter:{accountTag:\"a\"}) { streamMinutesViewedAdaptiveGroups("
         "filter:{}, limit: 1, orderBy:[dimensions_date_ASC]) { count } } } }", False),
    ],
)  # fmt: skip
def test_both_schemas_agree_on_queries(dump: GraphQLSchema, query: str, valid: bool) -> None:
    doc = parse(query)
    assert (not validate(stream_schema(), doc)) is valid
    assert (not validate(dump, doc)) is valid
