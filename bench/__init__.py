"""Benchmark of `stream-stats collect` against a no-Dagster floor (`make bench`); see README.md."""
