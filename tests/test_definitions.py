"""The whole code location loads, with the asset keys, groups and automation of contract §6."""

import dagster as dg

from tests.support.definitions import fresh_defs, load_definitions

GROUPS = {
    "raw": {
        "raw_creator_minutes",
        "raw_country_minutes",
        "raw_video_minutes",
        "raw_hourly_minutes",
        "raw_video_metadata",
        "raw_uid_minutes",
        "video_catalog",
    },
    "daily": {"creators", "countries", "videos_with_posts", "summary", "creator_days"},
    "rolling": {"rolling_creators", "rolling_countries", "rolling_summary"},
    "weekly": {"weekly_creators", "weekly_summary", "creator_weeks"},
    "costs": {"stream_costs", "cold_videos"},
    "live": {"raw_live_samples", "live_viewers", "live_drift"},
}


def test_code_location_loads_from_the_module(monkeypatch):
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "R2_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    location = fresh_defs()
    dg.Definitions.validate_loadable(location)
    graph = location.resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    assert groups == GROUPS
    assert {j.name for j in location.resolve_all_job_defs()} >= {
        "daily_stats_job",
        "rebuild_daily_job",
        "weekly_stats_job",
        "stream_costs_job",
        "live_samples_job",
        "live_viewers_job",
    }
    assert {s.name for s in location.schedules} == {
        "daily_stats_schedule",
        "stream_costs_schedule",
        "live_samples_schedule",
        "live_viewers_schedule",
    }
    assert {s.name for s in location.sensors} == {
        "weekly_automation",
        "late_data_sensor",
        "late_data_follow_up",
        "operation_log_on_failure",
        "dead_run_reaper",
        "freshness_checks_sensor",
        "late_files_log",
        "live_freshness_checks_sensor",
    }


def test_partitions_follow_the_report_time_zone(monkeypatch):
    location = load_definitions(monkeypatch, STREAM_STATS_TIMEZONE="Asia/Kolkata")
    graph = location.resolve_asset_graph()
    daily = graph.get(dg.AssetKey("creators")).partitions_def
    weekly = graph.get(dg.AssetKey("weekly_summary")).partitions_def
    assert daily.timezone == "Asia/Kolkata" and weekly.timezone == "Asia/Kolkata"
    assert daily.get_first_partition_key() == "2025-01-01"
    assert weekly.get_first_partition_key() == "2024-12-30"  # the Monday of the start date
    raw = graph.get(dg.AssetKey("raw_creator_minutes"))
    assert raw.backfill_policy.max_partitions_per_run == 7
    hourly = graph.get(dg.AssetKey("raw_live_samples")).partitions_def
    assert hourly.timezone == "Asia/Kolkata"  # one zone in the graph (Dagster requires it)
    assert graph.get(dg.AssetKey("live_viewers")).partitions_def.timezone == "Asia/Kolkata"


def test_cloudflare_steps_share_one_pool(monkeypatch):
    location = load_definitions(monkeypatch)
    job = location.resolve_job_def("daily_stats_job")
    pools = {node.name: node.definition.pool for node in job.graph.nodes}
    fetching = {"raw_extract", "raw_uid_minutes", "video_catalog"}
    assert {name for name, p in pools.items() if p == "cloudflare"} == fetching
    assert all(p is None for name, p in pools.items() if name not in fetching)


def test_every_asset_has_kinds_owners_and_a_code_reference(monkeypatch):
    graph = load_definitions(monkeypatch).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name not in GROUPS:
            continue
        assert node.owners and node.kinds, key
        assert ("redis" if node.group_name == "live" else "pandas") in node.kinds, key
        assert "dagster/code_references" in node.metadata, key


def test_the_cli_runs_the_same_definitions_without_the_component_catalogue(monkeypatch):
    from stream_stats_dagster.definitions import run_definitions

    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "R2_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    full = fresh_defs()
    with dg.DagsterInstance.ephemeral():
        lean = run_definitions()
        lean.get_repository_def()

    def shape(d: dg.Definitions) -> dict[str, object]:
        graph = d.resolve_asset_graph()
        return {
            "assets": {k: graph.get(k).group_name for k in graph.get_all_asset_keys()},
            "checks": set(graph.asset_check_keys),
            "jobs": {j.name for j in d.resolve_all_job_defs()},
            "schedules": {s.name for s in d.schedules},
            "sensors": {s.name for s in d.sensors},
            "resources": set(d.resources),
            "executor": d.executor,
        }

    assert shape(lean) == shape(full)
    assert set(full.metadata) == {"plugin_component_types_json"}
    assert not lean.metadata
