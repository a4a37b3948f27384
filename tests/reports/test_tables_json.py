"""`Document.to_bytes` writes from the columns: the same bytes as `json.dumps` of the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stream_stats_dagster import jsonbytes
from stream_stats_dagster.reports.tables import Document, Table, child_table, column_json


def tricky_document() -> Document:
    frame = pd.DataFrame(
        {
            "creator": ["첫사랑", 'say "hi"\\', "tab\there", "line\nbreak", "\u2028", "{x}"],
            "minutesViewed": np.array([0, -1, 2**62, 7, 8, 9], dtype="int64"),
            "share": [0.5, 1e-7, 3.0, 2.5e20, 0.1, -0.0],
            "found": [True, False, True, True, False, True],
            "note": [None, "a", np.int64(3), np.float64(1.5), np.bool_(True), None],
            "unknown": [None] * 6,
            "title": ["a", None, "a", "b", None, "b"],
        }
    )
    trend = child_table(6, 2, {"date": ["2025-03-01", "2025-03-02"] * 6, "v": np.arange(12)})
    creators = Table(frame, {"trend": trend}, order=["creator", "trend", *frame.columns[1:]])
    empty = Table(pd.DataFrame({"a": pd.Series([], dtype="int64")}))
    return Document(
        {
            "date": "2025-03-02",
            "totals": {"m": 1, "ratio": None},
            "creators": creators,
            "none": empty,
        }
    )


def test_bytes_equal_json_dumps_of_the_data():
    doc = tricky_document()
    assert doc.to_bytes() == jsonbytes.dumps_plain(doc.to_json())
    assert doc.to_bytes().startswith(b'{"schemaVersion":1,"date":"2025-03-02"')
    assert b'"none":[]' in doc.to_bytes()


def test_none_is_null_and_what_json_refuses_is_refused():
    assert column_json(pd.Series(["a", None])) == ['"a"', "null"]
    assert column_json(pd.Series([None, None])) == ["null", "null"]
    with pytest.raises(ValueError):
        column_json(pd.Series([1.0, float("nan")]))
    with pytest.raises(ValueError):
        column_json(pd.Series(["a", float("nan")]))
    with pytest.raises(TypeError):
        column_json(pd.Series([1, None], dtype="Int64"))
