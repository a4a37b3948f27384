from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel

from stream_stats_dagster import jsonbytes


class Row(BaseModel):
    creator: str
    minutesViewed: int
    viewCount: int


class Doc(BaseModel):
    schemaVersion: int = 1
    date: dt.date
    creators: list[Row]
    uniqueViewers: None = None


def make_doc() -> Doc:
    return Doc(
        date=dt.date(2025, 3, 11),
        creators=[Row(creator="첫사랑", minutesViewed=12, viewCount=3)],
    )


def test_model_bytes_are_compact_utf8_in_field_order_with_newline() -> None:
    data = jsonbytes.dumps(make_doc())
    assert (
        data
        == (
            '{"schemaVersion":1,"date":"2025-03-11","creators":'
            '[{"creator":"첫사랑","minutesViewed":12,"viewCount":3}],"uniqueViewers":null}\n'
        ).encode()
    )
    assert "첫사랑".encode() in data and b"\\u" not in data


def test_same_data_same_bytes_and_round_trip() -> None:
    first, second = jsonbytes.dumps(make_doc()), jsonbytes.dumps(make_doc())
    assert first == second
    assert jsonbytes.loads(first) == make_doc().model_dump(mode="json")
    # plain containers (with models inside) give the same bytes as the model
    plain = {"schemaVersion": 1, "date": "2025-03-11", "creators": [make_doc().creators[0]]}
    plain["uniqueViewers"] = None
    assert jsonbytes.dumps(plain) == first


def test_dict_order_is_kept_not_sorted() -> None:
    assert jsonbytes.dumps({"b": 1, "a": [2, 1]}) == b'{"b":1,"a":[2,1]}\n'


def test_nan_is_rejected() -> None:
    with pytest.raises(ValueError):
        jsonbytes.dumps({"x": float("nan")})
