"""JSON Schema of every file the pipeline writes, generated from its pydantic model, for the
web app's developers (`docs/schema/`, docs/contract.md).

`python -m stream_stats_dagster.schemas docs/schema` writes them; a test keeps the committed
files equal to what the models generate, and validates every file of a collect against them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from .files import ASSET_FILES, COST_FILES, LIVE_FILES
from .index import IndexDocument
from .oplog import OperationRecord
from .reports.live.samples import HourFile
from .reports.models import CreatorDayFile, CreatorWeekFile

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_models() -> dict[str, type[BaseModel]]:
    """`{schema name: model}`: the name is the file's own name (`daily-creators`, ...)."""
    models: dict[str, type[BaseModel]] = {}
    for spec in (*ASSET_FILES.values(), *COST_FILES.values(), *LIVE_FILES.values()):
        prefix = {"raw_costs": "raw", "costs": "costs"}.get(spec.layout, spec.layout)
        name = spec.name if spec.name.startswith(prefix) else f"{prefix}-{spec.name}"
        models[name] = spec.model
    models["index"] = IndexDocument
    models["creator-day"] = CreatorDayFile
    models["creator-week"] = CreatorWeekFile
    models["live-samples"] = HourFile
    models["operation-log-record"] = OperationRecord
    return dict(sorted(models.items()))


def schema_of(name: str, model: type[BaseModel]) -> dict:
    """The model's JSON Schema (validation mode: what a reader may rely on)."""
    schema = model.model_json_schema(mode="validation")
    return {"$schema": DIALECT, "$id": f"{name}.schema.json", **schema}


def schema_texts() -> dict[str, str]:
    """`{file name: text}` of every schema, as committed under `docs/schema/`."""
    return {
        f"{name}.schema.json": json.dumps(schema_of(name, model), indent=2, ensure_ascii=False)
        + "\n"
        for name, model in schema_models().items()
    }


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_texts().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schema")):
        print(path)
