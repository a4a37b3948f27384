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


def test_definitions_are_declared_at_module_level_from_settings_read_once(monkeypatch):
    """Issue 26: no asset factory and no `@dg.definitions` function per domain; every
    asset, check, job, schedule and sensor is a module-level object of its domain, and the
    environment is read once, by `defs/settings.py`."""
    import ast
    import inspect
    from pathlib import Path

    import stream_stats_dagster.config as config

    location = fresh_defs()
    reads = []
    real = config.load_settings
    monkeypatch.setattr(config, "load_settings", lambda *a, **k: reads.append(1) or real(*a, **k))
    location = fresh_defs()
    assert len(reads) == 1  # defs/settings.py, and nothing else at load

    defs_dir = Path(inspect.getfile(config)).parent / "defs"
    for path in defs_dir.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
            nested = [
                n.name
                for n in ast.walk(function)
                if isinstance(n, ast.FunctionDef)
                and n is not function
                and any("asset" in ast.unparse(d) for d in n.decorator_list)
            ]
            assert not nested, f"{path}: {function.name} builds assets {nested}"
        decorated = [
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef)
            and any("definitions" in ast.unparse(d) for d in n.decorator_list)
        ]
        assert decorated == (["resources"] if path.name == "resources.py" else []), path
    for asset in location.assets:  # each one's source is where its domain declares it
        module = inspect.getmodule(asset.op.compute_fn.decorated_fn)
        assert module.__name__.startswith("stream_stats_dagster.defs."), module


def test_the_location_modules_tests_reload_are_all_that_read_the_settings():
    """`forget_location` drops the modules that read the settings at import: no module it
    keeps holds one of theirs (it would keep another environment's partitions)."""
    from types import ModuleType

    from tests.support.definitions import location_modules

    location = fresh_defs()
    assert location.assets
    bound = set(location_modules())
    assert "stream_stats_dagster.defs.settings" in bound
    import sys

    for name, module in list(sys.modules.items()):
        if not name.startswith("stream_stats_dagster") or name in bound:
            continue
        for attr, value in vars(module).items():
            if isinstance(value, ModuleType) and value.__name__ == f"{name}.{attr}":
                continue  # a package's submodule: imported anew with it
            origin = value.__name__ if isinstance(value, ModuleType) else None
            origin = origin or getattr(value, "__module__", None)
            assert origin not in bound, f"{name}.{attr} comes from {origin}"
