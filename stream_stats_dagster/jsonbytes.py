"""Canonical JSON bytes for every stored document (contract §4).

The same data must give the same bytes on every run (re-materializing a partition from the
same facts is byte-identical, so `put` can skip it and readers see no churn). Therefore:

- pydantic models are dumped with `model_dump(mode="json")`; field order is the model's
  declaration order and dict order is insertion order. Keys are deliberately *not* sorted:
  the order in the model is the order a human reads (`schemaVersion`, `date`, then the lists).
- UTF-8 with `ensure_ascii=False`: Korean names stay readable ("첫사랑", not "\\ucca..."),
  and are 3 bytes instead of 6 per character.
- Compact separators (",", ":") and one trailing newline: a day's creators file for 10k
  creators with 7-day trends measured 4.8 MB compact against 9.1 MB with `indent=2`, and these
  files are read by programs (the platform's web app), not people; `jq .` pretty-prints them.
- NaN and infinities are rejected (they are not JSON and would break readers).
"""

from __future__ import annotations

import json
from typing import Any


def _plain(doc: Any) -> Any:
    dump = getattr(doc, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(doc, list | tuple):
        return [_plain(item) for item in doc]
    if isinstance(doc, dict):
        return {key: _plain(value) for key, value in doc.items()}
    return doc


def dumps(doc: Any) -> bytes:
    """Canonical bytes of a pydantic model or plain JSON data (models may be nested in it)."""
    return dumps_plain(_plain(doc))


SETTINGS: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":"), "allow_nan": False}
"""The encoder settings above, for writers that build a document part by part."""
_encode = json.JSONEncoder(**SETTINGS).encode


def text(data: Any) -> str:
    """Canonical JSON text of plain data, without the final newline (a part of a document)."""
    return _encode(data)


def dumps_plain(data: Any) -> bytes:
    """Canonical bytes of data that is plain JSON already (dicts, lists, str, int, None)."""
    return text(data).encode("utf-8") + b"\n"


def loads(data: bytes) -> Any:
    """Parse stored JSON bytes (UTF-8)."""
    return json.loads(data)
