"""Report documents (pydantic models) and the report rules as pure functions.

- `models`: every JSON document the project stores, raw extracts included.
- `rules`: `__null__`, post names, sorting, top lists, window resolution.
- `daily`: creators, countries, videos-with-posts and summary of one day.
- `windows`: rolling (d-6..d) and weekly (Monday..Sunday) documents.
- `checks`: consistency checks for Dagster asset checks.
"""

from stream_stats_dagster.reports.rules import NULL_KEY, MissingDaysError

__all__ = ["NULL_KEY", "MissingDaysError"]
