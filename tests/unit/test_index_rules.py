"""The rolling pointer's only-forward rule, read from the stored window's `endDate` alone."""

from stream_stats_dagster import jsonbytes
from stream_stats_dagster.index import rolling_is_newer


def window(end: str) -> bytes:
    rows = [{"creator": f"u{n}", "minutesViewed": [n] * 7} for n in range(1000)]
    return jsonbytes.dumps_plain({"schemaVersion": 1, "endDate": end, "creators": rows})


def test_a_window_replaces_the_pointer_unless_the_pointer_is_newer():
    is_newer = rolling_is_newer("2025-03-10")
    assert is_newer(None)  # no pointer yet
    assert is_newer(window("2025-03-09"))
    assert is_newer(window("2025-03-10"))  # the same window again (late data) replaces it
    assert not is_newer(window("2025-03-11"))  # a backfill never moves it back
    assert is_newer(jsonbytes.dumps_plain({"schemaVersion": 1}))  # no end date: replaced
