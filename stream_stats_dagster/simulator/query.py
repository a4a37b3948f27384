"""One `streamMinutesViewedAdaptiveGroups` node: filter, group, sort and limit view records.

Cloudflare runs these as SQL over its event store; here the same semantics run as numpy over
the platform's columns. String dimensions are integer codes into sorted vocabularies, so a
code's order is the string's order and comparisons are evaluated once per vocabulary entry.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .platform import DAY, MEDIA_TYPES, Catalog, Records

TIME_GRAIN: dict[str, int] = {
    "datetime": 1,
    "datetimeMinute": 60,
    "datetimeFiveMinutes": 300,
    "datetimeFifteenMinutes": 900,
    "datetimeHour": 3600,
    "date": DAY,
}
STRING_FIELDS = ("uid", "creator", "clientCountryName", "mediaType")
OPERATORS = ("geq", "gt", "in", "leq", "like", "lt", "neq", "notin", "notlike")
_MEDIA_ARR = np.array(MEDIA_TYPES)


class QueryError(Exception):
    """A dataset error Cloudflare reports for one node (HTTP 400 unless said otherwise)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Groups:
    """The answer of one node: parallel columns, already sorted and limited."""

    dims: dict[str, list[Any]]
    count: list[int]
    minutes: list[int]

    def __len__(self) -> int:
        return len(self.count)


def split_key(key: str) -> tuple[str, str]:
    """`creator_gt` -> ("creator", "gt"); `creator` -> ("creator", "")."""
    name, _, op = key.rpartition("_")
    if name and op in OPERATORS:
        return name, op
    return key, ""


# --- values ------------------------------------------------------------------------------


def parse_time(value: Any, field: str) -> float:
    """Epoch seconds of a `Time` (RFC 3339 with offset) or `Date` (YYYY-MM-DD) argument."""
    if field == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise QueryError(f'error parsing args: cannot parse "{value}" as Date (YYYY-MM-DD)')
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            raise QueryError(f'error parsing args: cannot parse "{value}" as Date') from None
        return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()
    try:
        if not isinstance(value, str) or "T" not in value.upper():
            raise ValueError
        t = dt.datetime.fromisoformat(value)
        if t.tzinfo is None:
            raise ValueError
    except ValueError:
        raise QueryError(
            f'error parsing args: cannot parse "{value}" as Time '
            "(RFC 3339, e.g. 2025-03-10T15:00:00Z)"
        ) from None
    return t.timestamp()


def _strings(value: Any, field: str, key: str) -> Any:
    items = value if isinstance(value, list) else [value]
    for v in items:
        if not isinstance(v, str):
            raise QueryError(f"error parsing args: {key}: expected a string, got {v!r}")
    return value


def _like_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE: `%` any run, `_` any one character, backslash escapes."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


# --- time bounds -------------------------------------------------------------------------


def time_bounds(flt: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The [lo, hi) span a filter can match on the event time (None: unbounded)."""
    lo: float | None = None
    hi: float | None = None

    def tighten(a: float | None, b: float | None) -> None:
        nonlocal lo, hi
        if a is not None:
            lo = a if lo is None else max(lo, a)
        if b is not None:
            hi = b if hi is None else min(hi, b)

    for key, value in flt.items():
        if value is None:
            continue
        if key == "AND":
            for sub in value:
                tighten(*time_bounds(sub))
            continue
        if key == "OR":
            spans = [time_bounds(sub) for sub in value]
            if spans:
                los = [s[0] for s in spans]
                his = [s[1] for s in spans]
                tighten(
                    None if any(x is None for x in los) else min(los),  # type: ignore[type-var]
                    None if any(x is None for x in his) else max(his),  # type: ignore[type-var]
                )
            continue
        field, op = split_key(key)
        grain = TIME_GRAIN.get(field)
        if grain is None or op in ("neq", "notin"):
            continue
        if op == "in":
            if not value:
                continue
            ts = [parse_time(v, field) for v in value]
            tighten(min(ts), math.floor(max(ts) / grain) * grain + grain)
            continue
        v = parse_time(value, field)
        floor = math.floor(v / grain) * grain
        if op == "":
            tighten(v, floor + grain)
        elif op == "geq":
            tighten(v, None)
        elif op == "gt":
            tighten(floor + grain if grain > 1 else v, None)
        elif op == "lt":
            tighten(None, v if v == floor else floor + grain)
        elif op == "leq":
            tighten(None, floor + grain)
    return lo, hi


# --- filtering ---------------------------------------------------------------------------


class _Columns:
    """Record columns per dimension, derived once per node."""

    def __init__(self, recs: Records, cat: Catalog) -> None:
        self.recs = recs
        self.cat = cat
        self._cache: dict[str, np.ndarray] = {}

    def codes(self, field: str) -> np.ndarray:
        """Integer keys whose order is the value order (codes for strings, seconds for time)."""
        col = self._cache.get(field)
        if col is None:
            r = self.recs
            if field == "uid":
                col = r.vid
            elif field == "creator":
                col = self.cat.video_creator[r.vid]
            elif field == "clientCountryName":
                col = r.country
            elif field == "mediaType":
                col = r.media
            else:
                grain = TIME_GRAIN[field]
                col = r.ts if grain == 1 else r.ts // grain * grain
            self._cache[field] = col
        return col

    def vocabulary(self, field: str) -> np.ndarray:
        if field == "uid":
            return self.cat.uids
        if field == "creator":
            return self.cat.creators_arr
        if field == "clientCountryName":
            return self.cat.countries_arr
        return _MEDIA_ARR


def _compare(arr: np.ndarray, op: str, value: Any) -> np.ndarray:
    if op == "":
        return arr == value
    if op == "neq":
        return arr != value
    if op == "gt":
        return arr > value
    if op == "geq":
        return arr >= value
    if op == "lt":
        return arr < value
    if op == "leq":
        return arr <= value
    if op == "in":
        return np.isin(arr, value)
    if op == "notin":
        return ~np.isin(arr, value)
    raise AssertionError(op)


def _leaf_mask(cols: _Columns, key: str, value: Any) -> np.ndarray | None:
    field, op = split_key(key)
    if field in STRING_FIELDS:
        value = _strings(value, field, key)
        vocab = cols.vocabulary(field)
        if op in ("like", "notlike"):
            rx = _like_regex(value)
            hit = np.fromiter((rx.fullmatch(s) is not None for s in vocab), bool, len(vocab))
            vmask = hit if op == "like" else ~hit
        else:
            vmask = _compare(vocab, op, list(value) if op in ("in", "notin") else value)
        return vmask[cols.codes(field)]
    if field in TIME_GRAIN:
        if op in ("in", "notin"):
            v: Any = [parse_time(x, field) for x in value]
        else:
            v = parse_time(value, field)
        return _compare(cols.codes(field), op, v)
    raise QueryError(f"error parsing args: unknown filter field {key}")


def _filter_mask(cols: _Columns, flt: Mapping[str, Any], n: int) -> np.ndarray:
    mask = np.ones(n, bool)
    for key, value in flt.items():
        if value is None:
            continue  # an explicit null (or an unset variable) does not filter
        if key == "AND":
            for sub in value:
                mask &= _filter_mask(cols, sub, n)
        elif key == "OR":
            if value:
                any_ = np.zeros(n, bool)
                for sub in value:
                    any_ |= _filter_mask(cols, sub, n)
                mask &= any_
        else:
            leaf = _leaf_mask(cols, key, value)
            if leaf is not None:
                mask &= leaf
    return mask


# --- grouping ----------------------------------------------------------------------------


def run_node(
    recs: Records,
    cat: Catalog,
    flt: Mapping[str, Any],
    dims: Sequence[str],
    order_by: Sequence[str],
    limit: int,
    visible_at: float | None = None,
) -> Groups:
    """Answer one node over `recs` (which must cover the filter's time span)."""
    cols = _Columns(recs, cat)
    mask = _filter_mask(cols, flt, len(recs))
    if visible_at is not None:
        mask &= (recs.ts + recs.delay) <= visible_at
    minutes = recs.minutes[mask]
    counts = recs.count[mask]

    for spec in order_by:
        name = spec.rpartition("_")[0]
        if name not in ("count", "sum_minutesViewed") and name not in dims:
            raise QueryError(
                f"query contains error, please review it and retry: orderBy {spec} "
                f"needs the dimension {name} to be selected"
            )

    if not dims:
        if not mask.any():
            return Groups({}, [], [])
        return Groups({}, [int(counts.sum())], [int(minutes.sum())])

    # A uid has one creator: group by uid alone and look the creator up afterwards.
    derived = "creator" in dims and "uid" in dims
    key_dims = [d for d in dims if not (derived and d == "creator")]
    keys = [cols.codes(d)[mask] for d in key_dims]
    factor_codes, uniques = [], []
    for d, k in zip(key_dims, keys, strict=True):
        if d in STRING_FIELDS:  # already dense, value-ordered codes
            factor_codes.append(k.astype(np.int64))
            uniques.append(np.arange(len(cols.vocabulary(d))))
        else:
            codes, uniq = pd.factorize(k, sort=True)
            factor_codes.append(codes.astype(np.int64))
            uniques.append(np.asarray(uniq))
    sizes = [len(u) for u in uniques]
    if len(keys) == 1:
        group, n_groups = factor_codes[0], sizes[0]
    elif math.prod(sizes) < 2**62:
        composite = np.zeros(len(minutes), np.int64)
        for codes, size in zip(factor_codes, sizes, strict=True):
            composite = composite * size + codes
        present, group = np.unique(composite, return_inverse=True)
        n_groups = len(present)
    else:  # too many combinations for one integer: unique rows instead
        present, group = np.unique(np.stack(factor_codes, axis=1), axis=0, return_inverse=True)
        n_groups = len(present)
        group = group.reshape(-1)
    sum_min = np.bincount(group, weights=minutes, minlength=n_groups).astype(np.int64)
    sum_cnt = np.bincount(group, weights=counts, minlength=n_groups).astype(np.int64)
    # Every record has count >= 1, so a group with records has sum_cnt > 0: the others
    # (empty vocabulary entries) are absent, as on Cloudflare.
    nonempty = np.flatnonzero(sum_cnt > 0)
    sum_min, sum_cnt = sum_min[nonempty], sum_cnt[nonempty]
    if len(keys) == 1:
        group_keys = [nonempty]
    else:
        if present.ndim == 2:
            group_keys = [present[nonempty, j] for j in range(len(sizes))]
        else:
            group_keys = []
            rest = present[nonempty]
            for size in reversed(sizes):
                group_keys.append(rest % size)
                rest = rest // size
            group_keys.reverse()

    # Sort keys for np.lexsort: last is primary. Factor codes are value-ordered.
    by_dim = dict(zip(key_dims, group_keys, strict=True))
    if derived:
        by_dim["creator"] = cat.video_creator[by_dim["uid"]].astype(np.int64)
        uniques.insert(dims.index("creator"), np.arange(len(cat.creators)))
        group_keys.insert(dims.index("creator"), by_dim["creator"])
    sort_keys: list[np.ndarray] = []
    for spec in order_by:
        name, _, direction = spec.rpartition("_")
        col = (
            sum_cnt if name == "count" else sum_min if name == "sum_minutesViewed" else by_dim[name]
        )
        sort_keys.append(-col if direction == "DESC" else col)
    sort_keys.extend(by_dim[d] for d in dims)  # the group-by fields break ties, ascending
    order = np.lexsort(sort_keys[::-1])[:limit]

    out: dict[str, list[Any]] = {}
    for d, uniq, gk in zip(dims, uniques, group_keys, strict=True):
        out[d] = _decode(d, uniq[gk[order]], cat)
    return Groups(out, sum_cnt[order].tolist(), sum_min[order].tolist())


def _decode(field: str, values: np.ndarray, cat: Catalog) -> list[Any]:
    if field == "uid":
        return [cat.uid_list[i] for i in values.tolist()]
    if field == "creator":
        return [cat.creators[i] for i in values.tolist()]
    if field == "clientCountryName":
        return [cat.countries[i] for i in values.tolist()]
    if field == "mediaType":
        return [MEDIA_TYPES[i] for i in values.tolist()]
    stamps = values.astype("datetime64[s]")
    if field == "date":
        return np.datetime_as_string(stamps, unit="D").tolist()
    return [s + "Z" for s in np.datetime_as_string(stamps, unit="s").tolist()]
