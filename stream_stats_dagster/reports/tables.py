"""Report documents as frames, serialised once at the edge.

A document is a few scalar fields and a few lists of entries. Each list is a `Table`: one
frame row per entry, its columns named and ordered as the entry's JSON fields. A list
nested in every entry (a creator's `trend`, a post's `topVideos`) is a child `Table` in long
form: its `PARENT` column holds the position of the entry it belongs to, ascending.

The reports build these frames with vectorised pandas; the checks read the same frames;
`Document.to_json()` turns them into plain JSON data exactly once, for the IO manager.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stream_stats_dagster.facts import SCHEMA_VERSION

PARENT = "_parent"
"""Column of a child table: the position of its entry in the parent table."""


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
        """Plain JSON data, `schemaVersion` first (SPEC §4)."""
        out: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
        for name, value in self.fields.items():
            out[name] = value.records() if isinstance(value, Table) else value
        return out


def child_table(
    parents: int, per_parent: int, columns: Mapping[str, Any], order: Sequence[str] = ()
) -> Table:
    """A child table with exactly `per_parent` rows for each of `parents` entries, given as
    flat columns in row-major order (entry 0's rows first)."""
    frame = pd.DataFrame({PARENT: np.repeat(np.arange(parents), per_parent), **columns})
    return Table(frame, order=order)
