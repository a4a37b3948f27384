import datetime as dt
import os

import pytest

from stream_stats_dagster import keys
from stream_stats_dagster.dates import BadDateError, ReportDay, parse_day
from stream_stats_dagster.files import ASSET_FILES
from stream_stats_dagster.runs import chunks, complete_weeks

D = dt.date


def test_report_day_bounds_are_kst_midnights_in_utc():
    day = ReportDay(D(2025, 3, 11), "Asia/Seoul")
    assert day.start_utc.isoformat() == "2025-03-10T15:00:00+00:00"
    assert day.end_utc.isoformat() == "2025-03-11T15:00:00+00:00"
    assert len(day.local_hours()) == 24
    assert day.local_hours()[0].isoformat() == "2025-03-11T00:00:00+09:00"


def test_dst_days_have_23_and_25_hours():
    assert len(ReportDay(D(2025, 3, 9), "America/New_York").local_hours()) == 23
    assert len(ReportDay(D(2025, 11, 2), "America/New_York").local_hours()) == 25


def test_spec_keys():
    day = D(2025, 3, 11)
    assert ASSET_FILES["creators"].key("2025-03-11") == (
        "stream-stats/daily/2025-03/2025-03-11-creators.json"
    )
    assert (
        ASSET_FILES["videos_with_posts"]
        .key("2025-03-11")
        .endswith("2025-03-11-videos-with-posts.json")
    )
    assert ASSET_FILES["raw_hourly_minutes"].key("2025-03-11") == (
        "stream-stats/raw/2025-03/2025-03-11-hourly-minutes.json"
    )
    assert ASSET_FILES["rolling_summary"].key("2025-03-11") == (
        "stream-stats/rolling/history/2025-03/2025-03-11-last7days-summary.json"
    )
    assert ASSET_FILES["rolling_countries"].pointer_key == (
        "stream-stats/rolling/last7days-countries.json"
    )
    assert keys.oplog_key(day, "collectDailyStats", "abc") == (
        "stream-stats/2025-03/2025-03-11/collectDailyStats-abc.json"
    )


def test_weekly_keys_use_iso_week_year_of_the_monday():
    assert ASSET_FILES["weekly_creators"].key("2024-12-30") == (
        "stream-stats/weekly/2024-12/2025-01-creators.json"
    )
    assert ASSET_FILES["weekly_summary"].key("2025-03-03") == (
        "stream-stats/weekly/2025-03/2025-10-summary.json"
    )


@pytest.mark.parametrize(
    "text",
    [
        "2025-3-1",
        "yesterday",
        "",
        "2025-03-011",
        "2025-W11-2",  # ISO week date: fromisoformat reads it as 2025-03-11
        "2025W112",
        "20250311",  # basic format: fromisoformat reads it as 2025-03-11
        "2025-03-11T00:00",
        " 2025-03-11",
        "2025-03-11\n",
        "\uff12\uff10\uff12\uff15-03-11",  # full-width digits match `\d`
    ],
)
def test_bad_dates_are_one_line(text):
    with pytest.raises(BadDateError, match="expected YYYY-MM-DD") as raised:
        parse_day(text)
    assert "\n" not in str(raised.value).replace(repr(text), "")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-02-30", "2026-02-30 is not a date: February 2026 has 28 days"),
        ("2025-13-01", "2025-13-01 is not a date: there is no month 13"),
        ("2025-04-31", "2025-04-31 is not a date: April 2025 has 30 days"),
    ],
)
def test_dates_the_calendar_lacks_say_so(text, why):
    """The form was right, so the error says what is wrong with the date, not the form."""
    with pytest.raises(BadDateError) as raised:
        parse_day(text)
    assert str(raised.value) == why


def test_good_dates_parse():
    assert parse_day("2025-03-11") == D(2025, 3, 11)
    assert parse_day("2024-02-29") == D(2024, 2, 29)


@pytest.mark.parametrize("flag", ["--date", "--from"])
@pytest.mark.parametrize("text", ["2025-W11-2", "20250311"])
def test_cli_refuses_non_iso_dates_in_one_line(flag, text, monkeypatch, capsys, tmp_path):
    from stream_stats_dagster import cli

    for name in list(os.environ):
        if name.startswith(("AWS_", "CLOUDFLARE_", "R2_", "STREAM_STATS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    argv = ["collect", flag, text] + (["--to", "2025-03-12"] if flag == "--from" else [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"stream-stats: error: bad date {text!r}: expected YYYY-MM-DD (e.g. 2025-03-11)\n"


def test_chunks_split_runs_of_consecutive_days_at_7():
    days = [D(2025, 1, 1) + dt.timedelta(days=i) for i in range(16)] + [D(2025, 3, 1)]
    assert [len(c) for c in chunks(days)] == [7, 7, 2, 1]
    assert [len(c) for c in chunks(days, size=31)] == [16, 1]


def test_complete_weeks_need_all_seven_days_in_range():
    assert complete_weeks(D(2025, 3, 3), D(2025, 3, 9)) == [D(2025, 3, 3)]
    assert complete_weeks(D(2025, 3, 4), D(2025, 3, 16)) == [D(2025, 3, 10)]
    assert complete_weeks(D(2025, 3, 3), D(2025, 3, 8)) == []
