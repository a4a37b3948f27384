"""Report documents as frames, serialised once at the edge.

A document is a few scalar fields and a few lists of entries. Each list is a `Table`: one
frame row per entry, its columns named and ordered as the entry's JSON fields. A list
nested in every entry (a creator's `trend`, a post's `topVideos`) is a child `Table` in long
form: its `PARENT` column holds the position of the entry it belongs to, ascending.

The reports build these frames with vectorised pandas; the checks read the same frames;
`Document.to_bytes()` writes the stored file straight from the columns (each column's values
encoded as JSON text in one pass, then joined per entry), the same bytes as `json.dumps` of
`Document.to_json()` with the storage's settings, at a fraction of the cost of building a
dict per entry first.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stream_stats_dagster import jsonbytes
from stream_stats_dagster.facts import SCHEMA_VERSION

PARENT = "_parent"
"""Column of a child table: the position of its entry in the parent table."""


def _native(value: Any) -> Any:
    """numpy scalars in object columns as the Python values pandas' `to_dict` gives."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


# The storage's JSON settings; numpy scalars in object columns are written as their values.
json_text = json.JSONEncoder(**jsonbytes.SETTINGS, default=_native).encode


def column_json(values: pd.Series) -> list[str]:
    """Each value of a column as JSON text. Integers and booleans in one vectorised pass;
    strings (with None) once per distinct value; anything else value by value, so that
    what `json.dumps` refuses (NaN, pandas' NA) is refused here too."""
    kind = values.dtype.kind
    if kind in "iu" and not values.hasnans:
        return values.to_numpy().astype(str).tolist()
    if kind == "b" and not values.hasnans:
        return np.where(values.to_numpy(), "true", "false").tolist()
    array = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(array, skipna=True) in ("string", "empty"):
        codes, distinct = pd.factorize(array)  # missing values get code -1: the last text
        missing = codes < 0
        if not any(v is not None for v in array[missing]):  # NaN and NA are refused below
            return np.array([*map(json_text, distinct), "null"], dtype=object)[codes].tolist()
    return [json_text(v) for v in values.tolist()]


@dataclass(frozen=True)
class Table:
    """A list of entries. `order` is the entries' JSON field order, child lists included
    (default: the frame's columns, then the children)."""

    frame: pd.DataFrame
    children: Mapping[str, Table] = field(default_factory=dict)
    order: Sequence[str] = ()

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def fields(self) -> list[str]:
        if self.order:
            return list(self.order)
        own = [c for c in self.frame.columns if c != PARENT]
        return [*own, *self.children]

    def records(self) -> list[dict[str, Any]]:
        """The entries as JSON-ready dicts (native ints and strings), in field order."""
        fields = self.fields
        frame = self.frame
        placeholders = {name: 0 for name in self.children}
        if placeholders:  # reserve each child list's place in the entry's field order
            frame = frame.assign(**placeholders)
        records = frame[fields].to_dict("records") if len(frame) else []
        for name, child in self.children.items():
            items = child.records()
            parents = child.frame[PARENT].to_numpy()
            bounds = np.searchsorted(parents, np.arange(len(records) + 1))
            for record, lo, hi in zip(records, bounds[:-1], bounds[1:], strict=True):
                record[name] = items[lo:hi]
        return records

    def json_entries(self) -> list[str]:
        """The entries as JSON text, one string each: the text of `records()`."""
        columns: list[list[str]] = []
        for name in self.fields:
            child = self.children.get(name)
            if child is None:
                columns.append(column_json(self.frame[name]))
                continue
            items = child.json_entries()
            bounds = np.searchsorted(child.frame[PARENT].to_numpy(), np.arange(len(self) + 1))
            columns.append(
                ["[" + ",".join(items[lo:hi]) + "]" for lo, hi in itertools.pairwise(bounds)]
            )
        keys = [json_text(name).replace("{", "{{").replace("}", "}}") for name in self.fields]
        template = "{{" + ",".join(f"{key}:{{}}" for key in keys) + "}}"
        return [template.format(*values) for values in zip(*columns, strict=True)]

    def json_array(self) -> str:
        return "[" + ",".join(self.json_entries()) + "]"


def object_bytes(fields: Mapping[str, Any]) -> bytes:
    """A stored JSON object (with the storage's final newline): `Table` values written from
    their columns, any other value through `json_text`."""
    parts = [
        f"{json_text(name)}:{value.json_array() if isinstance(value, Table) else json_text(value)}"
        for name, value in fields.items()
    ]
    return ("{" + ",".join(parts) + "}").encode("utf-8") + b"\n"


@dataclass(frozen=True)
class Document:
    """A report document: its fields in JSON order, each a scalar or a `Table`."""

    fields: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def tables(self) -> dict[str, Table]:
        return {k: v for k, v in self.fields.items() if isinstance(v, Table)}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data, `schemaVersion` first (contract §4)."""
        out: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
        for name, value in self.fields.items():
            out[name] = value.records() if isinstance(value, Table) else value
        return out

    def to_bytes(self) -> bytes:
        """The stored file: the bytes of `jsonbytes.dumps_plain(self.to_json())`."""
        return object_bytes({"schemaVersion": SCHEMA_VERSION, **self.fields})


def child_table(
    parents: int, per_parent: int, columns: Mapping[str, Any], order: Sequence[str] = ()
) -> Table:
    """A child table with exactly `per_parent` rows for each of `parents` entries, given as
    flat columns in row-major order (entry 0's rows first)."""
    frame = pd.DataFrame({PARENT: np.repeat(np.arange(parents), per_parent), **columns})
    return Table(frame, order=order)
