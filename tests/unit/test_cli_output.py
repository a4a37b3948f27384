"""The last lines of `collect` say exactly which files were written."""

import datetime as dt

from stream_stats_dagster.cli import written_files
from stream_stats_dagster.config import load_settings

SETTINGS = load_settings({})


def test_no_weekly_files_without_a_complete_week():
    lines = written_files(SETTINGS, dt.date(2026, 11, 24), dt.date(2026, 11, 30), "collect")
    assert lines[0].startswith("raw:") and "2026-11-18-*.json .. 2026-11-30-*.json" in lines[0]
    assert "weekly:  none (no complete Monday..Sunday week in 2026-11-24..2026-11-30)" in lines
    assert "index:   points-system-bucket/stream-stats/index.json" in lines
    (creators,) = [line for line in lines if line.startswith("creators:")]
    assert "stream-stats/creators/<creator key>/days/2026-11-24..2026-11-30" in creators


def test_a_complete_week_names_its_files_and_rebuild_names_no_raw():
    lines = written_files(SETTINGS, dt.date(2026, 11, 23), dt.date(2026, 11, 30), "rebuild")
    assert not any(line.startswith("raw:") for line in lines)
    assert "weekly:  points-system-bucket/stream-stats/weekly/2026-11/2026-48-*.json" in lines


def test_a_range_across_months_names_both_folders():
    lines = written_files(SETTINGS, dt.date(2026, 11, 25), dt.date(2026, 12, 1), "rebuild")
    daily = "daily:   points-system-bucket/stream-stats/daily/2026-11/2026-11-25-*.json .. "
    assert daily + "stream-stats/daily/2026-12/2026-12-01-*.json" in lines
