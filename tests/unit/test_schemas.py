"""The JSON Schemas under docs/schema are what the models generate, and the files the
pipeline writes validate against them (the golden collect, and each creator's files)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from stream_stats_dagster.schemas import schema_texts
from tests.reports.test_creator_files import build

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schema"
GOLDEN = ROOT / "tests" / "golden" / "files"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schemas_are_the_generated_ones():
    generated = schema_texts()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    assert committed == generated, "run: python -m stream_stats_dagster.schemas docs/schema"


def _schema_name(path: Path) -> str:
    """`raw/2025-03/2025-03-01-hourly-minutes.json` -> `raw-hourly-minutes`."""
    layout = path.relative_to(GOLDEN).parts[0]
    name = re.sub(r"^[0-9-]+-", "", path.stem).removeprefix("last7days-")
    return f"{layout}-{name}"


GOLDEN_FILES = sorted(GOLDEN.rglob("*.json"))


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_every_golden_file_validates(path):
    _validator(_schema_name(path)).validate(json.loads(path.read_bytes()))


def test_a_corrupted_file_does_not_validate():
    path = next(p for p in GOLDEN_FILES if p.name.endswith("-summary.json"))
    doc = json.loads(path.read_bytes())
    doc["totalMinutesViewed"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        _validator(_schema_name(path)).validate(doc)


def test_creator_files_validate():
    _, _, _, built = build()
    day = _validator("creator-day")
    for body in built.files.values():
        day.validate(json.loads(body))
