"""GraphQL Analytics semantics on a small platform: grouping, filters, ordering, keyset
paging, Cloudflare's limits and error shapes. Expected values come from the platform's raw
records (`platform.records`), not from the query engine."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from stream_stats_dagster.simulator import ManualClock, Simulator, small_config

from .conftest import client_for, flat, gql, node, rows

UTC = dt.UTC
# KST 2025-03-11 in UTC
START = dt.datetime(2025, 3, 10, 15, tzinfo=UTC)
END = START + dt.timedelta(days=1)
DAY = {"datetime_geq": "2025-03-10T15:00:00Z", "datetime_lt": "2025-03-11T15:00:00Z"}
TOTAL_QUERY = """
query T($acc: string!, $s: Time!, $e: Time!) { viewer { accounts(filter: {accountTag: $acc}) {
  streamMinutesViewedAdaptiveGroups(filter: {datetime_geq: $s, datetime_lt: $e}, limit: 1) {
    count sum { minutesViewed } } } } }
"""


def day_total(client, s: str = DAY["datetime_geq"], e: str = DAY["datetime_lt"]) -> tuple[int, int]:
    r = gql(client, TOTAL_QUERY, acc="sim-account", s=s, e=e)
    (row,) = r.json()["data"]["viewer"]["accounts"][0]["streamMinutesViewedAdaptiveGroups"]
    return row["sum"]["minutesViewed"], row["count"]


def expected(sim: Simulator, by: list[str]) -> pd.DataFrame:
    recs = sim.platform.records(START, END)
    return recs.groupby(by, as_index=False)[["minutesViewed", "count"]].sum()


def test_success_body_shape(client) -> None:
    r = node(client, "creator", DAY, limit=3)
    body = r.json()
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert list(body) == ["data", "errors"] and body["errors"] is None
    assert set(body["data"]["viewer"]["accounts"][0]["rows"][0]) == {"count", "sum", "dimensions"}


def test_ungrouped_total_matches_records(client, shared_sim) -> None:
    assert day_total(client) == shared_sim.platform.totals(START, END)
    assert shared_sim.platform.totals(START, END)[0] > 0


@pytest.mark.parametrize("dims", [["creator"], ["clientCountryName"], ["uid", "creator"],
                                  ["uid", "clientCountryName"], ["mediaType", "date"]])  # fmt: skip
def test_groups_match_records(client, shared_sim, dims: list[str]) -> None:
    got = pd.DataFrame([flat(r) for r in rows(node(client, " ".join(dims), DAY))])
    got = got.sort_values(dims).reset_index(drop=True)[[*dims, "minutesViewed", "count"]]
    recs = shared_sim.platform.records(START, END)
    recs["date"] = recs["datetime"].dt.strftime("%Y-%m-%d")
    want = recs.groupby(dims, as_index=False)[["minutesViewed", "count"]].sum()
    want = want.sort_values(dims).reset_index(drop=True)
    assert len(got) == len(want) > 1
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_default_order_is_the_group_by_fields_ascending(client) -> None:
    got = [
        r["dimensions"]["clientCountryName"] for r in rows(node(client, "clientCountryName", DAY))
    ]
    assert got == sorted(got)
    assert "" in got  # unknown country is a group of its own, sorted first
    assert got[0] == ""


def test_creator_keyset_paging_returns_everyone_once(client, shared_sim) -> None:
    seen: list[str] = []
    minutes = 0
    after = None
    pages = 0
    while True:
        flt = dict(DAY) | ({"creator_gt": after} if after is not None else {})
        page = rows(node(client, "creator", flt, limit=50, order=["creator_ASC"]))
        pages += 1
        seen += [r["dimensions"]["creator"] for r in page]
        minutes += sum(r["sum"]["minutesViewed"] for r in page)
        if len(page) < 50:
            break
        after = page[-1]["dimensions"]["creator"]
    assert pages > 3
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert "" in seen  # videos without a creator
    assert set(seen) == set(expected(shared_sim, ["creator"])["creator"])
    assert minutes == day_total(client)[0]


def test_top_videos_order(client, shared_sim) -> None:
    order = ["sum_minutesViewed_DESC", "count_DESC", "uid_ASC"]
    got = [flat(r) for r in rows(node(client, "uid creator", DAY, limit=100, order=order))]
    assert len(got) == 100
    keys = [(-r["minutesViewed"], -r["count"], r["uid"]) for r in got]
    assert keys == sorted(keys)
    want = expected(shared_sim, ["uid", "creator"]).sort_values(
        ["minutesViewed", "count", "uid"], ascending=[False, False, True]
    )
    assert [r["uid"] for r in got] == want["uid"].head(100).tolist()
    assert [r["creator"] for r in got] == want["creator"].head(100).tolist()
    # ties on minutes exist at this scale, so the secondary keys matter
    assert len({r["minutesViewed"] for r in got}) < 100


def test_records_land_on_the_right_side_of_kst_midnight(sim) -> None:
    uid = sim.platform.uids[7]
    midnight = dt.datetime(2025, 3, 11, 15, tzinfo=UTC)  # KST 2025-03-12 00:00
    sim.platform.add_views(uid, midnight - dt.timedelta(minutes=1), 1000, 3)  # KST 03-11 23:59
    sim.platform.add_views(uid, midnight, 2000, 5)  # KST 03-12 00:00
    with client_for(sim) as client:
        before = {"datetime_geq": "2025-03-10T15:00:00Z", "datetime_lt": "2025-03-11T15:00:00Z"}
        after = {"datetime_geq": "2025-03-11T15:00:00Z", "datetime_lt": "2025-03-12T15:00:00Z"}
        natural = sim.platform.records(START, END + dt.timedelta(days=1))
        natural = natural[natural["uid"] == uid]
        cut = pd.Timestamp(midnight)
        base_before = natural[natural["datetime"] < cut]["minutesViewed"].sum() - 1000
        base_after = natural[natural["datetime"] >= cut]["minutesViewed"].sum() - 2000
        got_before = rows(node(client, "uid", before | {"uid": uid}))
        got_after = rows(node(client, "uid", after | {"uid": uid}))
        assert got_before[0]["sum"]["minutesViewed"] == base_before + 1000
        assert got_after[0]["sum"]["minutesViewed"] == base_after + 2000
        hours = rows(node(client, "datetimeHour", after | {"uid": uid}))
        assert hours[0]["dimensions"]["datetimeHour"] == "2025-03-11T15:00:00Z"
        # the two KST days partition the two-day UTC range exactly
        both = day_total(client, before["datetime_geq"], after["datetime_lt"])
        one, two = day_total(client, **_se(before)), day_total(client, **_se(after))
        assert both == (one[0] + two[0], one[1] + two[1])


def _se(flt: dict[str, str]) -> dict[str, str]:
    return {"s": flt["datetime_geq"], "e": flt["datetime_lt"]}


def test_hourly_rows_add_up_to_the_day(client) -> None:
    hours = rows(node(client, "datetimeHour", DAY, order=["datetimeHour_ASC"]))
    assert len(hours) == 24
    assert hours[0]["dimensions"]["datetimeHour"] == "2025-03-10T15:00:00Z"
    assert sum(h["sum"]["minutesViewed"] for h in hours) == day_total(client)[0]
    assert sum(h["count"] for h in hours) == day_total(client)[1]


@pytest.mark.parametrize(
    ("extra", "predicate"),
    [
        ({"clientCountryName": "KR"}, lambda d: d["clientCountryName"] == "KR"),
        ({"clientCountryName_neq": "KR"}, lambda d: d["clientCountryName"] != "KR"),
        ({"clientCountryName_in": ["US", "JP"]}, lambda d: d["clientCountryName"] in ("US", "JP")),
        ({"clientCountryName_notin": ["US", ""]},
         lambda d: d["clientCountryName"] not in ("US", "")),
        ({"clientCountryName_like": "K%"}, lambda d: d["clientCountryName"].startswith("K")),
        ({"clientCountryName_notlike": "%R"}, lambda d: not d["clientCountryName"].endswith("R")),
        ({"clientCountryName_gt": "M"}, lambda d: d["clientCountryName"] > "M"),
        ({"clientCountryName_leq": "DE"}, lambda d: d["clientCountryName"] <= "DE"),
        ({"OR": [{"clientCountryName": "KR"}, {"clientCountryName": "US"}]},
         lambda d: d["clientCountryName"] in ("KR", "US")),
        ({"AND": [{"clientCountryName_geq": "B"}, {"clientCountryName_lt": "D"}]},
         lambda d: "B" <= d["clientCountryName"] < "D"),
        ({"datetimeHour_in": ["2025-03-10T20:00:00Z", "2025-03-11T01:00:00Z"]},
         lambda d: d["datetime"].hour in (20, 1)),
        ({"datetimeFifteenMinutes_neq": "2025-03-10T15:00:00Z"},
         lambda d: d["datetime"] >= pd.Timestamp("2025-03-10T15:15:00Z")),
        ({"date": "2025-03-11"}, lambda d: d["datetime"].day == 11),
        ({"date_lt": "2025-03-11"}, lambda d: d["datetime"].day == 10),
        ({"mediaType": "live"}, lambda d: d["mediaType"] == "live"),
    ],
)  # fmt: skip
def test_filters(client, shared_sim, extra, predicate) -> None:
    recs = shared_sim.platform.records(START, END)
    want = recs[recs.apply(predicate, axis=1)]
    got = rows(node(client, "clientCountryName", DAY | extra))
    assert sum(r["sum"]["minutesViewed"] for r in got) == want["minutesViewed"].sum() > 0
    assert {r["dimensions"]["clientCountryName"] for r in got} == set(want["clientCountryName"])


def test_time_dimensions_are_rfc3339_utc(client) -> None:
    dims = "date datetime datetimeMinute datetimeFiveMinutes datetimeFifteenMinutes datetimeHour"
    flt = {"datetime_geq": "2025-03-10T15:00:00Z", "datetime_lt": "2025-03-10T15:20:00Z"}
    got = [r["dimensions"] for r in rows(node(client, dims, flt, order=["datetime_DESC"]))]
    assert got[0]["datetime"] > got[-1]["datetime"]
    d = got[-1]
    assert d["date"] == "2025-03-10"
    assert d["datetime"] == d["datetimeMinute"] and d["datetime"].endswith("Z")
    assert d["datetimeHour"] == "2025-03-10T15:00:00Z"
    assert d["datetimeFifteenMinutes"] == "2025-03-10T15:00:00Z"
    assert any(g["datetimeFiveMinutes"] == "2025-03-10T15:15:00Z" for g in got)


def test_empty_groups_are_absent(client, shared_sim) -> None:
    # before any video was uploaded: no rows at all, not zero rows
    old = {"datetime_geq": "2018-01-01T00:00:00Z", "datetime_lt": "2018-01-02T00:00:00Z"}
    assert rows(node(client, "creator", old)) == []
    r = gql(client, TOTAL_QUERY, acc="sim-account", s=old["datetime_geq"], e=old["datetime_lt"])
    assert r.json()["data"]["viewer"]["accounts"][0]["streamMinutesViewedAdaptiveGroups"] == []
    # a video without views in the window is absent from a uid list
    viewed = set(expected(shared_sim, ["uid"])["uid"])
    unviewed = next(u for u in shared_sim.platform.uids if u not in viewed)
    assert rows(node(client, "uid", DAY | {"uid_in": [unviewed]})) == []


def test_several_aliased_nodes_in_one_request(shared_sim) -> None:
    query = """query($acc: string!,
                     $f: AccountStreamMinutesViewedAdaptiveGroupsFilter_InputObject!) {
      viewer { accounts(filter: {accountTag: $acc}) {
        a: streamMinutesViewedAdaptiveGroups(filter: $f, limit: 5) { count }
        b: streamMinutesViewedAdaptiveGroups(filter: $f, limit: 5) { sum { minutesViewed } }
        c: streamMinutesViewedAdaptiveGroups(filter: $f, limit: 5) { dimensions { uid } }
        ...F
      } } }
      fragment F on account { d: streamMinutesViewedAdaptiveGroups(filter: $f, limit: 2) {
        dimensions { clientCountryName } } }"""
    before = shared_sim.stats.as_dict()
    with client_for(shared_sim) as client:
        body = gql(client, query, acc="sim-account", f=DAY).json()
    account = body["data"]["viewer"]["accounts"][0]
    assert list(account) == ["a", "b", "c", "d"]
    assert len(account["c"]) == 5 and len(account["d"]) == 2
    after = shared_sim.stats.as_dict()
    assert after["nodes"] - before["nodes"] == 4
    assert after["graphql_requests"] - before["graphql_requests"] == 1


def test_string_and_int_variable_types_are_tolerated(client) -> None:
    query = """query($acc: String!, $s: Time!, $e: Time!, $n: Int!, $cs: [String!]) {
      viewer { accounts(filter: {accountTag: $acc}) {
        streamMinutesViewedAdaptiveGroups(filter: {datetime_geq: $s, datetime_lt: $e,
          clientCountryName_in: $cs}, limit: $n) { count dimensions { clientCountryName } } } } }"""
    r = gql(client, query, acc="sim-account", s=DAY["datetime_geq"], e=DAY["datetime_lt"], n=5,
            cs=["KR"])  # fmt: skip
    assert r.status_code == 200 and r.json()["errors"] is None
    (row,) = r.json()["data"]["viewer"]["accounts"][0]["streamMinutesViewedAdaptiveGroups"]
    assert row["dimensions"]["clientCountryName"] == "KR"


def _error(r) -> str:
    body = r.json()
    assert body["data"] is None
    (err,) = body["errors"][:1]
    assert set(err) == {"message", "path", "extensions"} and "timestamp" in err["extensions"]
    return err["message"]


@pytest.mark.parametrize("limit", [10001, 0, -1])
def test_limit_out_of_range(client, limit: int) -> None:
    r = node(client, "uid", DAY, limit=limit)
    assert r.status_code == 400
    assert _error(r) == "limit must be positive number and not greater than 10000"
    assert r.json()["errors"][0]["path"] == ["viewer", "accounts", "0", "rows"]


def test_limit_is_required(client) -> None:
    q = """{ viewer { accounts(filter: {accountTag: "sim-account"}) {
      streamMinutesViewedAdaptiveGroups(filter: {date: "2025-03-10"}) { count } } } }"""
    r = gql(client, q)
    assert r.status_code == 400
    assert "argument 'limit' of type 'uint64!' is required" in _error(r)


@pytest.mark.parametrize(
    ("flt", "ok"),
    [
        ({"datetime_geq": "2025-01-01T00:00:00Z", "datetime_lt": "2025-02-01T00:00:00Z"}, True),
        ({"datetime_geq": "2025-01-01T00:00:00Z", "datetime_lt": "2025-02-01T00:00:01Z"}, False),
        ({"date_geq": "2025-01-01", "date_leq": "2025-01-31"}, True),
        ({"date_geq": "2025-01-01", "date_leq": "2025-02-01"}, False),
        ({"date_geq": "2025-01-01"}, False),
        ({"creator": "u1"}, False),
        ({"OR": [{"date": "2025-01-01"}, {"date": "2025-03-01"}]}, False),
        ({"OR": [{"date": "2025-01-01"}, {"date": "2025-01-20"}]}, True),
    ],
)
def test_time_range_limit(client, flt, ok: bool) -> None:
    r = node(client, "mediaType", flt, limit=10)
    if ok:
        assert r.status_code == 200 and r.json()["errors"] is None
    else:
        assert r.status_code == 400
        assert _error(r).startswith("query time range is too large")


def test_retention_relative_to_the_clock() -> None:
    clock = ManualClock(dt.datetime(2025, 7, 1, tzinfo=UTC))
    sim = Simulator(small_config(retention_check=True), clock=clock)
    with client_for(sim) as client:
        assert node(client, "uid", DAY, limit=1).status_code == 400
        assert (
            _error(node(client, "uid", DAY, limit=1)) == "cannot request data older than 7776000s"
        )
        clock.set(dt.datetime(2025, 4, 1, tzinfo=UTC))
        assert node(client, "uid", DAY, limit=1).status_code == 200


def test_unknown_field_is_a_400_with_graphql_message(client) -> None:
    q = """{ viewer { accounts(filter: {accountTag: "sim-account"}) {
      streamMinutesViewedAdaptiveGroups(filter: {date: "2025-03-10"}, limit: 5) {
        avg { sampleInterval } } } } }"""
    r = gql(client, q)
    assert r.status_code == 400
    assert _error(r) == (
        "Cannot query field 'avg' on type 'AccountStreamMinutesViewedAdaptiveGroups'."
    )
    assert r.json()["errors"][0]["path"] is None


def test_bad_time_literal(client) -> None:
    r = node(client, "uid", {"datetime_geq": "2025-03-10 15:00", "datetime_lt": "x"})
    assert r.status_code == 400
    assert _error(r).startswith("error parsing args")


def test_wrong_account_is_403(client) -> None:
    r = node(client, "uid", DAY, account="someone-else")
    assert r.status_code == 403
    assert _error(r) == "not authorized for that account"


def test_token_required() -> None:
    sim = Simulator(small_config(require_token=True, api_token="s3cret"))
    with client_for(sim) as client:
        r = node(client, "uid", DAY, limit=1)
        assert r.status_code == 401 and _error(r) == "Unauthorized"
        r = client.post("/graphql", json={"query": "{cost}"}, headers={"Authorization": "Bearer x"})
        assert r.status_code == 401
        r = client.post(
            "/graphql", json={"query": "{ cost }"}, headers={"Authorization": "Bearer s3cret"}
        )
        assert r.status_code == 200 and r.json() == {"data": {"cost": 0}, "errors": None}


def test_any_token_accepted_by_default(client) -> None:
    r = client.post("/graphql", json={"query": "{ cost }"}, headers={"Authorization": "Bearer z"})
    assert r.status_code == 200


def test_settings_and_budget(client) -> None:
    q = """{ viewer { budget accounts(filter: {accountTag: "sim-account"}) { accountTag
      settings { streamMinutesViewedAdaptiveGroups {
        maxPageSize maxDuration notOlderThan } } } } }"""
    data = gql(client, q).json()["data"]["viewer"]
    assert data["budget"] == 300
    s = data["accounts"][0]["settings"]["streamMinutesViewedAdaptiveGroups"]
    assert s == {"maxPageSize": 10000, "maxDuration": 2678400, "notOlderThan": 7776000}


def test_hidden_future_and_late_arrival() -> None:
    clock = ManualClock(END + dt.timedelta(minutes=15))
    sim = Simulator(small_config(hide_future=True, late_arrival_mean_minutes=20), clock=clock)
    with client_for(sim) as client:
        early = day_total(client)
        clock.advance(24 * 3600)
        late = day_total(client)
    full = sim.platform.totals(START, END)
    assert early[0] < late[0] == full[0]
