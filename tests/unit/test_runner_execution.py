"""How the CLI executes a run: public Dagster APIs only, partitions tagged like a backfill."""

from __future__ import annotations

import ast
from pathlib import Path

import stream_stats_dagster
from stream_stats_dagster.runner import partition_tags

PACKAGE = Path(stream_stats_dagster.__file__).resolve().parent


def test_partition_tags_for_one_day_and_a_range():
    assert partition_tags(["2025-03-02"]) == {"dagster/partition": "2025-03-02"}
    assert partition_tags(["2025-03-02", "2025-03-03", "2025-03-04"]) == {
        "dagster/asset_partition_range_start": "2025-03-02",
        "dagster/asset_partition_range_end": "2025-03-04",
    }


def test_the_package_imports_only_public_dagster_modules():
    private = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            private += [
                f"{path.relative_to(PACKAGE)}: {n}"
                for n in names
                if n.split(".")[0].startswith("dagster") and "._" in n
            ]
    assert private == []
