"""`stream-stats collect --date D --with-costs` end to end: the real client over loopback HTTP
against the simulator, local storage, a real Dagster instance. Both cost files are written
and pass their checks; without the flag, no cost file is written."""

import datetime as dt
from pathlib import Path

import dagster as dg

from stream_stats_dagster import cli
from stream_stats_dagster.files import ASSET_FILES, COST_FILES
from stream_stats_dagster.reports import costs

DAY = "2025-03-11"


def _bucket(env) -> Path:
    return Path(env["STREAM_STATS_LOCAL_DIR"]) / "points-system-bucket"


def test_collect_with_costs_writes_both_files_and_they_pass_their_checks(env, sim, capsys):
    assert cli.main(["collect", "--date", DAY, "--with-costs"]) == 0
    out = capsys.readouterr().out
    assert "costs 2025-03-11: ok" in out
    bucket = _bucket(env)
    body = (bucket / COST_FILES["stream_costs"].key(DAY)).read_bytes()
    cost = costs.StreamCostsDoc.model_validate_json(body)
    cold = costs.ColdVideosDoc.model_validate_json(
        (bucket / COST_FILES["cold_videos"].key(DAY)).read_bytes()
    )
    assert cost.date == cold.date == DAY and cost.currency == "USD"
    assert cost.platform.minutesDelivered > 0 and cold.totals.videoCount > 0

    # the checks, on what was stored: the window's per-video minutes and the day's top videos
    window = {
        d.isoformat(): costs.uid_minutes_frame(
            costs.UidMinutesDoc.model_validate_json(
                (bucket / COST_FILES["raw_uid_minutes"].key(d.isoformat())).read_bytes()
            )
        )
        for d in costs.cost_window_days(dt.date.fromisoformat(DAY), dt.date(2025, 3, 1))
    }
    assert len(window) == 11  # 2025-03-01 (the start date) .. 2025-03-11
    top = ASSET_FILES["raw_video_minutes"].decode(
        (bucket / ASSET_FILES["raw_video_minutes"].key(DAY)).read_bytes()
    )
    assert costs.costs_add_up(cost) == []
    assert costs.cold_have_no_minutes(cold, window) == []
    assert costs.cold_not_in_top(cold, top.rows["uid"]) == []
    assert costs.cold_totals_add_up(cold) == []
    # and Dagster recorded them as passed
    checks = {
        "stream_costs": ["creators_add_up_to_platform"],
        "cold_videos": ["no_minutes_in_window", "not_in_top_videos", "totals_add_up"],
    }
    with dg.DagsterInstance.get() as instance:
        for asset, names in checks.items():
            for name in names:
                key = dg.AssetCheckKey(dg.AssetKey(asset), name)
                record = instance.get_latest_asset_check_evaluation_record(key)
                assert record is not None and record.status.value == "SUCCEEDED", (asset, name)

    # a second run fetches no per-video minutes again and changes no byte
    before = {p: p.read_bytes() for p in (bucket / "stream-stats/costs").rglob("*.json")}
    sim[0].stats.reset()
    assert cli.main(["collect", "--date", DAY, "--with-costs"]) == 0
    assert {p: p.read_bytes() for p in before} == before
    assert sim[0].stats.nodes == 4 + 1  # the day's own 4 nodes again, and 1 per-video page


def test_collect_without_the_flag_writes_no_cost_file(env):
    assert cli.main(["collect", "--date", DAY]) == 0
    # the day's catalogue snapshot and per-video minutes are raw facts now (each creator's
    # files read them); the cost reports themselves are not written
    costs = sorted(p.name for p in (_bucket(env) / "stream-stats/costs").rglob("*.json"))
    assert costs == [f"{DAY}-video-catalog.json"]
    assert len(list(_bucket(env).rglob("*-uid-minutes.json"))) >= 1
