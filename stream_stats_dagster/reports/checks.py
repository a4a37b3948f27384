"""Pure consistency checks of report documents, for Dagster asset checks (seed 001).

Each check takes a document (a pydantic model from `reports.models`, or the plain dict of
its JSON) and returns a `CheckResult(passed, description, metadata)`; the asset check
wraps it in `AssetCheckResult(passed=..., description=..., metadata=...)`. Metadata holds
JSON-friendly values only (counts and at most `MAX_SHOWN` examples).

- `no_negative_values`: no int anywhere below zero.
- `no_duplicate_keys`: each list holds each key once (creator, country, uid, (creator,
  postName), date of a series, hour).
- `series_complete`: every ×7 series is the seven days ending at the document's date,
  ascending; `hourlyTrend` is one entry per consecutive local hour of the day.
- `lists_in_order`: lists follow the sort rule; top lists ≤10, a post's topVideos ≤5.
- `parts_add_up`: the sums inside one document (series vs totals, posts vs videos).
- `daily_parts_add_up` / `window_parts_add_up`: creators and countries add up to the
  summary's totals across the documents of a day or a window.

How they stay fast on a document of 10,000+ creators × 7-day series (~5 MB of JSON):

- Models are read through their attributes (`__dict__`, which holds the same values as
  their JSON), never dumped; a model's field annotations say which fields hold lists.
- Each list field is read as columns (`_Level`: one list of values per field of its
  entries, built with `map`/`itemgetter`/`attrgetter`), and nested lists such as every
  creator's `trend` as one level of all their entries. A few C-level passes over the
  columns (`min`, `set`, list equality, `zip`) prove a level clean or name the entries
  that may hold a problem.
- Only those entries are then walked one by one (`_lists`, `_negatives`, the same walk
  every check used to do over the whole document), and that walk alone writes the
  problem messages, so they are the same, in the same order. A list the columns cannot
  express (dict entries with different keys, a field holding lists and other values) is
  walked whole.
- `prepare(doc)` reads a document once for several checks (`run_document_checks` and the
  asset checks in `defs.checks` do this); each check also accepts the bare document.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from itertools import chain, compress, islice, pairwise, repeat
from operator import attrgetter, eq, gt, itemgetter, lt, ne, neg
from types import UnionType
from typing import Any, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel

from stream_stats_dagster.reports.rules import bulk_build

__all__ = [
    "MAX_SHOWN",
    "CheckResult",
    "PreparedDoc",
    "daily_parts_add_up",
    "lists_in_order",
    "no_duplicate_keys",
    "no_negative_values",
    "parts_add_up",
    "prepare",
    "run_document_checks",
    "series_complete",
    "window_parts_add_up",
]

MAX_SHOWN = 10
TOP_LIST_SIZE = 10
POST_TOP_VIDEOS = 5
SERIES_FIELDS = ("trend", "dailyStats", "dailyTrend")
TOP_FIELDS = ("topCreators", "topCountries", "topVideos")
UNRANKED_FIELDS = (*SERIES_FIELDS, "hourlyTrend", "rows")
KEY_FIELDS = ("uid", "hour", "creator", "clientCountryName")


class CheckResult(NamedTuple):
    passed: bool
    description: str
    metadata: dict[str, Any]


Doc = BaseModel | Mapping[str, Any]


def _fields(node: Any) -> Any:
    """A model as the dict of its fields (the values its JSON holds); anything else as is."""
    return node.__dict__ if isinstance(node, BaseModel) else node


def _as_dict(doc: Doc | PreparedDoc) -> dict[str, Any]:
    """The top-level fields of a document, without dumping it (do not modify the result:
    for a model it is the model's own `__dict__`)."""
    if isinstance(doc, PreparedDoc):
        return doc.fields
    if isinstance(doc, BaseModel):
        return doc.__dict__
    return doc if isinstance(doc, dict) else dict(doc)


def _result(name: str, problems: list[str], **metadata: Any) -> CheckResult:
    """Pass when there are no problems; otherwise name the first ones in the description."""
    metadata = {"problems": len(problems), **metadata}
    if problems:
        metadata["examples"] = problems[:MAX_SHOWN]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return CheckResult(False, f"{name}: {problems[0]}{more}", metadata)
    return CheckResult(True, name, metadata)


# --- columns ---------------------------------------------------------------------------

_LIST = frozenset({list})
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})


def _annotation_types(annotation: Any) -> frozenset | None:
    """The types a validated field of this annotation holds: lists, or ints, strings,
    bools and None (None: anything else, e.g. a float may hold an int: look at the values)."""
    origin = get_origin(annotation)
    if annotation is list or origin is list:
        return _LIST
    if annotation is None or annotation is type(None):
        return frozenset({type(None)})
    if origin is Literal:
        types = frozenset(map(type, get_args(annotation)))
        return types if types <= _LEAF_TYPES else None
    if origin in (Union, UnionType):
        parts = list(map(_annotation_types, get_args(annotation)))
        if None in parts or _LIST in parts:
            return None
        return frozenset().union(*parts)
    return frozenset({annotation}) if annotation in (int, str, bool) else None


@functools.cache
def _model_types(kind: type[BaseModel]) -> dict[str, frozenset]:
    """{field: types} of the fields of a model class whose annotation says what they hold."""
    known = {name: _annotation_types(f.annotation) for name, f in kind.model_fields.items()}
    return {name: types for name, types in known.items() if types is not None}


def _shape(entries: list) -> tuple[tuple[str, ...], Callable[[str], Callable]] | None:
    """The field names shared by all entries and the getter to read them: `itemgetter` for
    dicts with the same keys, `attrgetter` for models of one class; None otherwise."""
    if not entries:
        return (), itemgetter
    kinds = set(map(type, entries))
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    if kind is dict:
        n = len(entries[0])
        if set(map(len, entries)) != {n} or len(set().union(*entries)) != n:
            return None
        return tuple(entries[0]), itemgetter
    if (
        issubclass(kind, BaseModel)
        and kind.model_config.get("extra") != "allow"
        and not kind.model_computed_fields
    ):
        return tuple(kind.model_fields), attrgetter
    return None


class _Level:
    """One list field as columns of its entries.

    At the top of a document it is the field's one list (`groups == [the list]`); nested,
    it is that field of every entry of the parent level: `groups` holds those lists (one
    per parent entry, `lens` their lengths), `entries` all their entries in order, and
    `gidx` the index of the group of each entry. Columns, their types and the levels
    below are built on first use and kept.
    """

    __slots__ = (
        "_children",
        "_cols",
        "_get",
        "_gidx",
        "_types",
        "_walkable",
        "entries",
        "field",
        "fields",
        "groups",
        "lens",
        "nested",
        "root",
        "supported",
    )

    def __init__(self, field: str, root: str, groups: list[list], nested: bool):
        self.field, self.root, self.groups, self.nested = field, root, groups, nested
        if nested:
            self.lens = list(map(len, groups))
            self.entries = list(chain.from_iterable(groups))
        else:
            self.lens = [len(groups[0])]
            self.entries = groups[0]
        shape = _shape(self.entries)
        self.supported = shape is not None
        self.fields, self._get = shape or ((), itemgetter)
        self._cols: dict[str, list] = {}
        self._types: dict[str, Set] = {}
        if self.supported and self._get is attrgetter:  # validated models: trust the fields
            self._types.update(_model_types(type(self.entries[0])))
        self._children: dict[str, _Level] = {}
        self._gidx: list[int] | None = None
        self._walkable: bool | None = None

    def col(self, name: str) -> list:
        """The values of field `name` of every entry (KeyError/AttributeError if missing)."""
        if name not in self._cols:
            self._cols[name] = list(map(self._get(name), self.entries))
        return self._cols[name]

    def col_or_none(self, name: str) -> list:
        """Like `entry.get(name)` for every entry."""
        return self.col(name) if name in self.fields else [None] * len(self.entries)

    def types(self, name: str) -> Set:
        """The types of the values of field `name` (of a model: as its annotation says)."""
        if name not in self._types:
            self._types[name] = set(map(type, self.col(name)))
        return self._types[name]

    @property
    def walkable(self) -> bool:
        """Same fields in every entry, each holding lists only or plain values only."""
        if self._walkable is None:
            self._walkable = self.supported and all(
                t == _LIST or t <= _LEAF_TYPES for t in map(self.types, self.fields)
            )
        return self._walkable

    @property
    def list_fields(self) -> list[str]:
        return [f for f in self.fields if self.types(f) == _LIST]

    def child(self, name: str) -> _Level:
        if name not in self._children:
            self._children[name] = _Level(name, self.root, self.col(name), nested=True)
        return self._children[name]

    @property
    def gidx(self) -> list[int]:
        if self._gidx is None:
            self._gidx = list(chain.from_iterable(map(repeat, range(len(self.lens)), self.lens)))
        return self._gidx

    def keys(self) -> list | None:
        """`_entry_key` of every entry; None when the entries have no key field."""
        if self.field == "posts":
            return list(zip(self.col_or_none("creator"), self.col_or_none("postName"), strict=True))
        if self.field in SERIES_FIELDS:
            return self.col_or_none("date")
        for name in KEY_FIELDS:
            if name in self.fields:
                return self.col(name)
        return None

    def group_sums(self, name: str) -> Iterator[Any]:
        """`sum` of field `name` over each group, in group order."""
        values = iter(self.col(name))
        return map(sum, map(islice, repeat(values), self.lens))


class PreparedDoc:
    """A document read once for several checks: its top-level fields and, built on first
    use and shared by the checks, the columns of its lists. Prepare a document right
    before checking it: a dict changed afterwards is not seen again."""

    __slots__ = ("_levels", "doc", "fields")

    def __init__(self, doc: Doc):
        self.doc = doc
        self.fields = _as_dict(doc)
        self._levels: dict[str, _Level | None] = {}

    def level(self, field: str) -> _Level | None:
        """The columns of top-level field `field`; None when it holds no list."""
        if field not in self._levels:
            value = self.fields.get(field)
            self._levels[field] = (
                _Level(field, field, [value], nested=False) if type(value) is list else None
            )
        return self._levels[field]


def prepare(doc: Doc | PreparedDoc) -> PreparedDoc:
    """`doc` prepared for several checks (every check accepts it in place of `doc`)."""
    return doc if isinstance(doc, PreparedDoc) else PreparedDoc(doc)


class _Unreadable(Exception):
    """A list the columns cannot express (see `_Level.walkable`): walk it entry by entry."""


# What reading a level as columns may raise on an unexpected document; the entry-by-entry
# walk then decides (and raises the same error itself if the document is malformed).
_SHAPE_ERRORS = (_Unreadable, TypeError, KeyError, AttributeError, ValueError, IndexError)


def _fast(find: Callable[..., Any], level: _Level | None, *args: Any) -> Any:
    """`find(level, *args)`: what may hold a problem (nothing when the level is clean);
    None when there is no level or its entries cannot be read as columns."""
    if level is None:
        return None
    try:
        return find(level, *args)
    except _SHAPE_ERRORS:
        return None


def _suspects(level: _Level, own: Callable[[_Level], Iterable[int]]) -> set[int]:
    """The groups of a level that may hold a problem, in their own list (`own` names
    them) or in a list inside one of their entries."""
    if not level.walkable:
        raise _Unreadable(level.field)
    bad = set(own(level))
    inner = _suspect_entries(level, own)
    if inner:
        bad.update(map(level.gidx.__getitem__, inner))
    return bad


def _suspect_entries(level: _Level, own: Callable[[_Level], Iterable[int]]) -> set[int]:
    """The entries of a level with a list inside that may hold a problem."""
    bad: set[int] = set()
    for name in level.list_fields:
        bad.update(_suspects(level.child(name), own))
    return bad


def _top_suspects(level: _Level, own: Callable[[_Level], Iterable[int]]) -> tuple[bool, list]:
    """For a top-level list: whether the list itself may hold a problem, and the indexes
    of its entries with a list inside that may."""
    if not level.walkable:
        raise _Unreadable(level.field)
    return bool(own(level)), sorted(_suspect_entries(level, own))


def _count_lists(level: _Level, count: Callable[[_Level], int]) -> int:
    """`count` summed over a level and every level below."""
    return count(level) + sum(_count_lists(level.child(n), count) for n in level.list_fields)


def _group_lists(level: _Level, values: list) -> Iterator[list]:
    """`values` (one per entry) cut into the level's groups."""
    return map(list, map(islice, repeat(iter(values)), level.lens))


# --- the entry-by-entry walk -------------------------------------------------------------


def _entry_key(field: str, entry: Mapping[str, Any]) -> Any:
    """The key of an entry of list `field` (None when the list has no key rule)."""
    if field == "posts":
        return (entry.get("creator"), entry.get("postName"))
    if field in SERIES_FIELDS:
        return entry.get("date")
    for name in KEY_FIELDS:
        if name in entry:
            return entry[name]
    return None


def _field_lists(field: str, value: Any, path: str = "") -> Iterator[tuple[str, str, list]]:
    """The lists of dicts in the value of `field`: (path, field name, list), the value's
    own list first, then the lists inside its entries. Models are read as dicts."""
    value = _fields(value)
    if isinstance(value, list):
        items = list(map(_fields, value))
        yield f"{path}{field}", field, items
        for i, item in enumerate(items):
            yield from _lists(item, f"{path}{field}[{i}].")
    elif isinstance(value, dict):
        yield from _lists(value, f"{path}{field}.")


def _lists(node: Any, path: str = "") -> Iterator[tuple[str, str, list]]:
    """Every list of dicts in a document: (path, field name, list)."""
    node = _fields(node)
    if isinstance(node, dict):
        for field, value in node.items():
            yield from _field_lists(field, value, path)


def _suspect_lists(
    field: str, level: _Level, suspects: tuple[bool, list]
) -> Iterator[tuple[str, str, list]]:
    """What `_field_lists` yields for the top-level list `field`, skipping what its columns
    proved clean: the list itself unless clean, then the lists inside suspect entries."""
    itself, entries = suspects
    if itself:
        yield field, field, list(map(_fields, level.entries))
    for i in entries:
        yield from _lists(level.entries[i], f"{field}[{i}].")


def _negatives(node: Any, path: str, problems: list[str]) -> None:
    node = _fields(node)
    if isinstance(node, dict):
        for k, v in node.items():
            _negatives(v, f"{path}.{k}" if path else k, problems)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _negatives(v, f"{path}[{i}]", problems)
    elif isinstance(node, int) and not isinstance(node, bool) and node < 0:
        problems.append(f"{path} = {node}")


def _sums(entries: list, minutes: str = "minutesViewed", views: str = "viewCount") -> tuple:
    rows = list(map(_fields, entries))
    return sum(map(itemgetter(minutes), rows)), sum(map(itemgetter(views), rows))


def _differs(a: tuple, b: tuple, tolerance: int) -> bool:
    return any(abs(x - y) > tolerance for x, y in zip(a, b, strict=True))


# --- generic checks --------------------------------------------------------------------


def _is_negative_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value < 0


def _negative_entries(level: _Level) -> set[int]:
    """The entries of a level holding a negative int, in a field or in a list inside."""
    if not level.walkable:
        raise _Unreadable(level.field)
    bad: set[int] = set()
    for name in level.fields:
        types = level.types(name)
        if types == _LIST:
            child = level.child(name)
            below = _negative_entries(child)
            if below:
                bad.update(map(child.gidx.__getitem__, below))
        elif int in types:
            values = level.col(name)
            if types != {int}:
                bad.update(compress(range(len(values)), map(_is_negative_int, values)))
            elif min(values) < 0:
                bad.update(compress(range(len(values)), map(lt, values, repeat(0))))
    return bad


@bulk_build
def no_negative_values(doc: Doc | PreparedDoc) -> CheckResult:
    """No int field anywhere in the document is negative."""
    view = prepare(doc)
    problems: list[str] = []
    for field, value in view.fields.items():
        level = view.level(field)
        bad = _fast(_negative_entries, level)
        if bad is None:
            _negatives(value, field, problems)
            continue
        for i in sorted(bad):
            _negatives(level.entries[i], f"{field}[{i}]", problems)
    return _result("no negative values", problems)


def _unique_in_groups(keys: list, lens: list[int]) -> bool:
    """Whether each group (consecutive `lens[i]` keys) holds distinct keys."""
    size = lens[0]
    if lens == [size] * len(lens) and keys == keys[:size] * len(lens):  # all alike (series)
        return len(set(keys[:size])) == size
    groups = map(islice, repeat(iter(keys)), lens)
    return list(map(len, map(set, groups))) == lens


def _repeated_keys(level: _Level) -> Iterable[int]:
    """The groups whose keys repeat (or hold None, where the walk stops looking)."""
    keys = level.keys() if level.entries else None
    if keys is None:
        return ()
    if not level.nested:
        return (0,) if None in keys or len(set(keys)) != len(keys) else ()
    if None not in keys and _unique_in_groups(keys, level.lens):
        return ()
    groups = _group_lists(level, keys)
    return [g for g, k in enumerate(groups) if None in k or len(set(k)) != len(k)]


def _keyed_lists(level: _Level) -> int:
    return len(level.lens) - level.lens.count(0)


def _duplicates(path: str, field: str, items: list, problems: list[str]) -> None:
    seen: set = set()
    for entry in items:
        key = _entry_key(field, entry)
        if key is None:
            break
        if key in seen:
            problems.append(f"{path} repeats {key!r}")
        seen.add(key)


@bulk_build
def no_duplicate_keys(doc: Doc | PreparedDoc) -> CheckResult:
    """Every keyed list holds each key once."""
    view = prepare(doc)
    problems: list[str] = []
    checked = 0
    for field, value in view.fields.items():
        level = view.level(field)
        suspects = _fast(_top_suspects, level, _repeated_keys)
        if suspects is not None:
            checked += _count_lists(level, _keyed_lists)
            for path, name, items in _suspect_lists(field, level, suspects):
                if items and isinstance(items[0], dict):
                    _duplicates(path, name, items, problems)
            continue
        for path, name, items in _field_lists(field, value):
            if items and isinstance(items[0], dict):
                checked += 1
                _duplicates(path, name, items, problems)
    return _result("no duplicate keys", problems, lists_checked=checked)


def _doc_end(d: Mapping[str, Any]) -> str | None:
    for field in ("date", "endDate", "weekEnd"):
        if isinstance(d.get(field), str):
            return d[field]
    return None


def _hourly_problems(day: str, hours: list) -> list[str]:
    if not hours:
        return ["hourlyTrend is empty"]
    problems = []
    try:
        instants = [dt.datetime.fromisoformat(_fields(h)["hour"]) for h in hours]
    except (TypeError, ValueError, KeyError):
        return ["hourlyTrend has an unreadable hour"]
    if any(t.tzinfo is None for t in instants):
        return ["hourlyTrend has an hour without UTC offset"]
    if instants[0].time() != dt.time(0) or instants[0].date().isoformat() != day:
        problems.append(f"hourlyTrend starts at {_fields(hours[0])['hour']}, not at {day} 00:00")
    if any(t.date().isoformat() != day for t in instants):
        problems.append(f"hourlyTrend has hours outside {day}")
    for a, b in pairwise(instants):
        if b - a != dt.timedelta(hours=1):
            problems.append(f"hourlyTrend jumps from {a.isoformat()} to {b.isoformat()}")
    if not 23 <= len(hours) <= 25:
        problems.append(f"hourlyTrend has {len(hours)} hours")
    return problems


def _incomplete_series(expected: list[str], level: _Level) -> Iterable[int]:
    """The groups of a series level whose dates are not `expected`."""
    if level.field not in SERIES_FIELDS:
        return ()
    n = len(level.lens)
    dates = level.col_or_none("date")
    if level.lens == [len(expected)] * n and dates == expected * n:
        return ()
    return [g for g, group in enumerate(_group_lists(level, dates)) if group != expected]


def _series_lists(level: _Level) -> int:
    return len(level.lens) if level.field in SERIES_FIELDS else 0


@bulk_build
def series_complete(doc: Doc | PreparedDoc, length: int = 7) -> CheckResult:
    """Every ×7 series covers exactly the seven days ending at the document's date,
    ascending; `hourlyTrend` (daily summary) covers every local hour of the day."""
    view = prepare(doc)
    d = view.fields
    end_text = _doc_end(d)
    if end_text is None:
        return _result("series complete", ["document has no date/endDate/weekEnd"])
    end = dt.date.fromisoformat(end_text)
    expected = [(end - dt.timedelta(days=i)).isoformat() for i in range(length - 1, -1, -1)]
    incomplete = functools.partial(_incomplete_series, expected)
    problems: list[str] = []
    checked = 0
    for field, value in d.items():
        level = view.level(field)
        suspects = _fast(_top_suspects, level, incomplete)
        if suspects is not None:  # counted from the columns, only suspects walked
            checked += _count_lists(level, _series_lists)
            lists: Iterator[tuple[str, str, list]] = _suspect_lists(field, level, suspects)
        else:
            lists = _field_lists(field, value)
        for path, name, items in lists:
            if name in SERIES_FIELDS:
                if suspects is None:
                    checked += 1
                dates = [e.get("date") for e in items]
                if dates != expected:
                    problems.append(f"{path} has dates {dates}, expected {expected[0]}..{end_text}")
    if "hourlyTrend" in d:
        checked += 1
        problems.extend(_hourly_problems(end_text, d["hourlyTrend"]))
    if "startDate" in d and d["startDate"] != expected[0]:
        problems.append(f"startDate {d['startDate']} is not {expected[0]}")
    if "weekStart" in d and d["weekStart"] != expected[0]:
        problems.append(f"weekStart {d['weekStart']} is not {expected[0]}")
    return _result("series complete", problems, series_checked=checked)


def _sort_value(field: str, entry: Mapping[str, Any]) -> tuple | None:
    key = _entry_key(field, entry)
    if key is None:
        return None
    if "totalMinutesViewed" in entry:
        return (-entry["totalMinutesViewed"], -entry["totalViewCount"], key)
    if "minutesViewed" in entry:
        return (-entry["minutesViewed"], -entry["viewCount"], key)
    return None


def _out_of_order(level: _Level) -> Iterable[int]:
    """The groups of a ranked level out of order or longer than their limit."""
    if level.field in UNRANKED_FIELDS or not level.entries:
        return ()
    bad: set[int] = set()
    if level.field in TOP_FIELDS:
        limit = POST_TOP_VIDEOS if level.nested and level.root == "posts" else TOP_LIST_SIZE
        if max(level.lens) > limit:
            bad.update(compress(range(len(level.lens)), map(gt, level.lens, repeat(limit))))
    keys = level.keys()
    if "totalMinutesViewed" in level.fields:
        minutes, views = "totalMinutesViewed", "totalViewCount"
    else:
        minutes, views = "minutesViewed", "viewCount"
    if keys is not None and minutes in level.fields:
        if None in keys:
            raise _Unreadable(level.field)  # the walk skips such lists: let it decide
        ranks = [level.gidx, map(neg, level.col(minutes)), map(neg, level.col(views)), keys]
        values = list(zip(*ranks, strict=True))  # the group first: groups never mix
        if any(map(lt, values[1:], values)):
            later = compress(range(1, len(values)), map(lt, values[1:], values))
            bad.update(map(level.gidx.__getitem__, later))
    return bad


def _in_order(path: str, field: str, items: list, problems: list[str]) -> None:
    if field in UNRANKED_FIELDS or not items:
        return
    if field in TOP_FIELDS:
        limit = POST_TOP_VIDEOS if path.startswith("posts[") else TOP_LIST_SIZE
        if len(items) > limit:
            problems.append(f"{path} has {len(items)} entries, more than {limit}")
    if not isinstance(items[0], dict):
        return
    values = [_sort_value(field, e) for e in items]
    if None in values:
        return
    for i, (a, b) in enumerate(pairwise(values)):
        if b < a:
            problems.append(f"{path}[{i + 1}] sorts before {path}[{i}]")
            break


@bulk_build
def lists_in_order(doc: Doc | PreparedDoc) -> CheckResult:
    """Ranked lists follow minutes desc, views desc, key asc; top lists have ≤10 entries,
    a post's topVideos ≤5. (Series and raw rows are not ranked and are skipped.)"""
    view = prepare(doc)
    problems: list[str] = []
    for field, value in view.fields.items():
        level = view.level(field)
        suspects = _fast(_top_suspects, level, _out_of_order)
        if suspects is not None:
            lists: Iterator[tuple[str, str, list]] = _suspect_lists(field, level, suspects)
        else:
            lists = _field_lists(field, value)
        for path, name, items in lists:
            _in_order(path, name, items, problems)
    return _result("lists in order", problems)


# --- sums ------------------------------------------------------------------------------


def _posts_problems(d: Mapping[str, Any]) -> list[str]:
    problems = []
    groups: dict[tuple, list] = {}
    uids = set()
    for v in map(_fields, d["videos"]):
        groups.setdefault((v["creator"], v["postName"]), []).append(v)
        uids.add(v["uid"])
    post_keys = set()
    for p in map(_fields, d["posts"]):
        key = (p["creator"], p["postName"])
        post_keys.add(key)
        videos = groups.get(key, [])
        if p["videoCount"] != len(videos):
            problems.append(f"post {key} has videoCount {p['videoCount']}, {len(videos)} videos")
        if (p["minutesViewed"], p["viewCount"]) != _sums(videos):
            problems.append(f"post {key} sums differ from its videos")
        for tv in map(_fields, p["topVideos"]):
            if tv["uid"] not in uids:
                problems.append(f"post {key} topVideos has unknown uid {tv['uid']}")
    for key in groups.keys() - post_keys:
        problems.append(f"videos of post {key} have no post entry")
    if _sums(d["posts"]) != _sums(d["videos"]):
        problems.append("posts do not add up to the videos")
    return problems


def _differing(values: list, expected: list) -> Iterator[int]:
    """The indexes where two lists of the same length differ."""
    return compress(range(len(values)), map(ne, values, expected))


def _unbalanced_entries(level: _Level, day: Any) -> list[int]:
    """The entries whose trend entry for `day` differs from their day values, or whose
    dailyStats do not add up to their totals."""
    if not level.walkable:
        raise _Unreadable(level.field)
    bad: set[int] = set()
    if "trend" in level.fields:
        if level.types("trend") != _LIST:
            raise _Unreadable("trend")
        trend = level.child("trend")
        today = list(map(eq, trend.col("date"), repeat(day)))
        minutes = compress(trend.col("minutesViewed"), today)
        views = compress(trend.col("viewCount"), today)
        found = zip(compress(trend.gidx, today), zip(minutes, views, strict=True), strict=True)
        first = dict(reversed(list(found)))  # each entry's first trend entry for `day`
        own = list(zip(level.col("minutesViewed"), level.col("viewCount"), strict=True))
        if first != dict(enumerate(own)):
            missing = object()
            bad.update(_differing([first.get(i, missing) for i in range(len(own))], own))
    if "dailyStats" in level.fields:
        if level.types("dailyStats") != _LIST:
            raise _Unreadable("dailyStats")
        stats = level.child("dailyStats")
        sums = zip(stats.group_sums("minutesViewed"), stats.group_sums("viewCount"), strict=True)
        totals = zip(level.col("totalMinutesViewed"), level.col("totalViewCount"), strict=True)
        sums, totals = list(sums), list(totals)
        if sums != totals:
            bad.update(_differing(sums, totals))
    return sorted(bad)


@bulk_build
def parts_add_up(doc: Doc | PreparedDoc) -> CheckResult:
    """The sums inside one document agree:

    - creators: each creator's trend entry for the day equals its day values;
    - windows: each entry's dailyStats add up to its totals, a summary's dailyStats to its
      totals;
    - daily summary: hourlyTrend adds up to the totals, the last dailyTrend entry equals them;
    - videos-with-posts: each post equals the sum and count of its videos.
    """
    view = prepare(doc)
    d = view.fields
    problems: list[str] = []
    day = d.get("date")
    for field in ("creators", "countries"):
        level = view.level(field)
        bad = _fast(_unbalanced_entries, level, day)
        entries = d.get(field, []) if bad is None else map(level.entries.__getitem__, bad)
        for e in map(_fields, entries):
            name = e.get("creator", e.get("clientCountryName"))
            if "trend" in e:
                today = [t for t in map(_fields, e["trend"]) if t["date"] == day]
                if not today or (today[0]["minutesViewed"], today[0]["viewCount"]) != (
                    e["minutesViewed"],
                    e["viewCount"],
                ):
                    problems.append(f"{field} {name!r}: trend for {day} differs from the day")
            if "dailyStats" in e and _sums(e["dailyStats"]) != (
                e["totalMinutesViewed"],
                e["totalViewCount"],
            ):
                problems.append(f"{field} {name!r}: dailyStats do not add up to the totals")
    totals = (d.get("totalMinutesViewed"), d.get("totalViewCount"))
    if "dailyStats" in d and _sums(d["dailyStats"]) != totals:
        problems.append("dailyStats do not add up to the totals")
    if "hourlyTrend" in d and _sums(d["hourlyTrend"]) != totals:
        problems.append("hourlyTrend does not add up to the totals")
    if "dailyTrend" in d:
        today = [t for t in map(_fields, d["dailyTrend"]) if t["date"] == day]
        if not today or (today[0]["minutesViewed"], today[0]["viewCount"]) != totals:
            problems.append(f"dailyTrend for {day} differs from the totals")
    if "posts" in d and "videos" in d:
        problems.extend(_posts_problems(d))
    return _result("parts add up", problems)


def _compare_total(
    problems: list[str], what: str, parts: tuple, total: tuple, tolerance: int
) -> None:
    if _differs(parts, total, tolerance):
        problems.append(
            f"{what} add up to {parts[0]} minutes / {parts[1]} views, "
            f"the total is {total[0]} / {total[1]}"
        )


@bulk_build
def daily_parts_add_up(
    summary: Doc,
    creators: Doc,
    countries: Doc,
    videos: Doc | None = None,
    *,
    tolerance: int = 0,
) -> CheckResult:
    """A day's creators and countries each add up to the summary's totals (`__null__`
    included); the top-N videos add up to at most the totals. `tolerance` is the absolute
    difference allowed (0: exact)."""
    s, c, k = _as_dict(summary), _as_dict(creators), _as_dict(countries)
    total = (s["totalMinutesViewed"], s["totalViewCount"])
    problems: list[str] = []
    dates = {s["date"], c["date"], k["date"]}
    creators_sum, countries_sum = _sums(c["creators"]), _sums(k["countries"])
    _compare_total(problems, "creators", creators_sum, total, tolerance)
    _compare_total(problems, "countries", countries_sum, total, tolerance)
    meta: dict[str, Any] = {
        "totalMinutesViewed": total[0],
        "totalViewCount": total[1],
        "creatorsMinutesViewed": creators_sum[0],
        "countriesMinutesViewed": countries_sum[0],
    }
    if videos is not None:
        v = _as_dict(videos)
        dates.add(v["date"])
        videos_sum = _sums(v["videos"])
        meta["videosMinutesViewed"] = videos_sum[0]
        if any(p > t + tolerance for p, t in zip(videos_sum, total, strict=True)):
            problems.append(f"top videos add up to {videos_sum}, more than the total {total}")
    if len(dates) > 1:
        problems.insert(0, f"documents of different days: {sorted(dates)}")
    return _result("parts add up to totals", problems, **meta)


def _stats_rows(entries: list) -> Iterator[tuple[Any, Any, Any]]:
    """(date, minutes, views) of every dailyStats entry of every entry, in order."""
    if type(entries) is list:
        level = _Level("entries", "entries", [entries], nested=False)
        try:
            if level.walkable and level.types("dailyStats") == _LIST:
                stats = level.child("dailyStats")
                columns = ("date", "minutesViewed", "viewCount")
                return zip(*map(stats.col, columns), strict=True) if stats.entries else iter(())
        except _SHAPE_ERRORS:
            pass
    stats_rows = map(_fields, chain.from_iterable(_fields(e)["dailyStats"] for e in entries))
    return ((s["date"], s["minutesViewed"], s["viewCount"]) for s in stats_rows)


def _sums_by_day(entries: list) -> dict[Any, list[int]]:
    """{date: [minutes, views]} summed over the dailyStats of all entries."""
    by_day: dict[Any, list[int]] = {}
    for date, minutes, views in _stats_rows(entries):
        acc = by_day.setdefault(date, [0, 0])
        acc[0] += minutes
        acc[1] += views
    return by_day


@bulk_build
def window_parts_add_up(
    summary: Doc,
    creators: Doc,
    countries: Doc | None = None,
    *,
    tolerance: int = 0,
) -> CheckResult:
    """A window's (weekly or rolling) creators, and countries when given, add up to the
    summary's totals, in total and day by day (`dailyStats`)."""
    s = _as_dict(summary)
    total = (s["totalMinutesViewed"], s["totalViewCount"])
    per_day = {
        e["date"]: (e["minutesViewed"], e["viewCount"]) for e in map(_fields, s["dailyStats"])
    }
    problems: list[str] = []
    meta: dict[str, Any] = {"totalMinutesViewed": total[0], "totalViewCount": total[1]}
    parts = [("creators", _as_dict(creators))]
    if countries is not None:
        parts.append(("countries", _as_dict(countries)))
    for field, doc in parts:
        entries = doc[field]
        if _doc_end(doc) != _doc_end(s):
            problems.append(f"{field} ends {_doc_end(doc)}, the summary {_doc_end(s)}")
        parts_sum = _sums(entries, "totalMinutesViewed", "totalViewCount")
        meta[f"{field}MinutesViewed"] = parts_sum[0]
        _compare_total(problems, field, parts_sum, total, tolerance)
        by_day = _sums_by_day(entries)
        for date, day_total in per_day.items():
            got = tuple(by_day.get(date, (0, 0)))
            _compare_total(problems, f"{field} on {date}", got, day_total, tolerance)
    return _result("parts add up to totals", problems, **meta)


@bulk_build
def run_document_checks(doc: Doc | PreparedDoc) -> list[CheckResult]:
    """All single-document checks, in a fixed order (for a quick overall verdict)."""
    view = prepare(doc)
    d = view.fields
    checks: list[Callable[[PreparedDoc], CheckResult]] = [
        no_negative_values,
        no_duplicate_keys,
        lists_in_order,
        parts_add_up,
    ]
    if _doc_end(d) is not None and any(f in d for f in (*SERIES_FIELDS, "creators", "countries")):
        checks.append(series_complete)
    return [check(view) for check in checks]
