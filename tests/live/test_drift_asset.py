"""`live_drift` in Dagster on hand-made hours: WARN checks publish the day and show the drift;
with `severity=ERROR` a drift over the limits stops the day; the limits come from
STREAM_STATS_LIVE_DRIFT_LIMITS."""

from __future__ import annotations

import dagster as dg
import pytest

from stream_stats_dagster import keys
from stream_stats_dagster.config import ConfigError, load_settings
from stream_stats_dagster.defs.resources import storage_resource
from stream_stats_dagster.reports.live import instants
from stream_stats_dagster.reports.live.drift import LiveDriftDoc
from stream_stats_dagster.reports.live.samples import hour_bytes
from stream_stats_dagster.storage import make_store
from tests.live.test_drift_known_answers import DAY, T0, _hour
from tests.support.definitions import location_module


def _run(tmp_path, monkeypatch, limits: str):
    env = {
        "STREAM_STATS_LOCAL_DIR": str(tmp_path / "data"),
        "STREAM_STATS_START_DATE": "2025-03-01",
        "STREAM_STATS_TIMEZONE": "Asia/Seoul",
        "STREAM_STATS_AUTOMATION": "stopped",
        "PRIVATE_BUCKET": "private-bucket",
        "STREAM_STATS_LIVE_DRIFT_LIMITS": limits,
        "STREAM_STATS_SOURCE": "simulator",
    }
    settings = load_settings(env)
    store = make_store(settings)
    (hour,) = _hour()
    store.put("private-bucket", keys.live_samples_key(instants.to_datetime(T0)), hour_bytes(hour))
    live = location_module(monkeypatch, "stream_stats_dagster.defs.live.assets", **env)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [live.live_drift],
            partition_key=DAY.isoformat(),
            resources={"storage": storage_resource(settings)},
            instance=instance,
            raise_on_error=False,
        )
        evaluations = {}
        for name in ("total_vs_stages", "counters_vs_heartbeats", "counters_vs_ivs"):
            key = dg.AssetCheckKey(dg.AssetKey("live_drift"), name)
            history = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
            for record in history:
                e = record.event.dagster_event.event_specific_data  # type: ignore[union-attr]
                evaluations[name] = (e.passed, e.severity.value)
    path = tmp_path / "data" / "private-bucket" / keys.live_drift_key(DAY)
    return result, evaluations, path


def test_warn_checks_publish_the_day_and_show_the_drift(tmp_path, monkeypatch):
    result, checks, path = _run(tmp_path, monkeypatch, "viewers=2,minutes=0.1,ivs_viewers=2")
    assert result.success
    doc = LiveDriftDoc.model_validate_json(path.read_bytes())
    assert doc.stagesWithDrift == 2
    assert checks == {
        "total_vs_stages": (True, "WARN"),  # +2 is not more than 2
        "counters_vs_heartbeats": (False, "WARN"),  # +3 for a minute
        "counters_vs_ivs": (False, "WARN"),  # +3 at 05:01:15
    }


def test_error_checks_stop_a_day_over_the_limits(tmp_path, monkeypatch):
    result, checks, path = _run(tmp_path, monkeypatch, "viewers=2,minutes=0.1,severity=error")
    assert not result.success and not path.exists()
    assert checks["counters_vs_heartbeats"] == (False, "ERROR")
    assert checks["counters_vs_ivs"] == (True, "ERROR")  # 3 is not more than the default 5


def test_limits_that_do_not_parse_are_named():
    with pytest.raises(ConfigError, match="STREAM_STATS_LIVE_DRIFT_LIMITS"):
        load_settings({"STREAM_STATS_LIVE_DRIFT_LIMITS": "viewers=many"})
    with pytest.raises(ConfigError, match="STREAM_STATS_LIVE_DRIFT_LIMITS"):
        load_settings({"STREAM_STATS_LIVE_DRIFT_LIMITS": "severity=LOUD"})
