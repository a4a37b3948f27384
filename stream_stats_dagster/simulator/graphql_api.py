"""`POST /graphql`: Cloudflare's GraphQL Analytics API over the synthetic platform.

graphql-core parses and validates against the trimmed Stream schema (so unknown fields fail
the way they would against the real API); execution is a small walker over the validated
document, because graphql-core's per-field resolution would take most of a second for one
10,000-row page, and a day needs several.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListTypeNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeNode,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values, get_variable_values

from .faults import BUDGET_MESSAGE
from .query import QueryError, run_node, time_bounds
from .responses import Response, graphql_error, graphql_errors, json_response

if TYPE_CHECKING:
    from .app import Simulator

NODE = "streamMinutesViewedAdaptiveGroups"
GROUP_TYPE = "AccountStreamMinutesViewedAdaptiveGroups"
# Type names the live server tolerates in variable definitions (lablabs/cloudflare-exporter
# declares `String!` and `Int!`), mapped onto the schema's own scalars.
_VARIABLE_TYPE_ALIASES = {"String": "string", "ID": "string", "Int": "uint64", "Boolean": "bool"}


@cache
def stream_schema() -> GraphQLSchema:
    """The trimmed Stream-only schema kept next to this module."""
    return build_schema((Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8"))


@lru_cache(maxsize=256)
def _parse_and_validate(query: str) -> tuple[DocumentNode | None, list[str]]:
    """Parse, normalise and validate once per query text (clients repeat the same text
    with new variables; the returned document is never modified afterwards)."""
    try:
        doc = parse(query)
    except GraphQLError as exc:
        return None, [exc.message]
    _normalise_variable_types(doc)
    return doc, [e.message for e in validate(stream_schema(), doc)]


class _Failure(Exception):
    """Ends the whole request (one failing node kills the query, as on Cloudflare)."""

    def __init__(self, status: int, message: str, path: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.path = path


def _normalise_variable_types(doc: DocumentNode) -> None:
    def fix(node: TypeNode) -> None:
        if isinstance(node, NonNullTypeNode | ListTypeNode):
            fix(node.type)
        elif isinstance(node, NamedTypeNode) and node.name.value in _VARIABLE_TYPE_ALIASES:
            node.name = NameNode(value=_VARIABLE_TYPE_ALIASES[node.name.value])

    for definition in doc.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for var in definition.variable_definitions or ():
                fix(var.type)


def _count_nodes(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> int:
    """Data nodes in a request: Cloudflare's rate limit counts these, not HTTP requests."""
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            total += (
                1 if sel.name.value == NODE else _count_nodes(sel.selection_set, fragments, seen)
            )
        elif isinstance(sel, InlineFragmentNode):
            total += _count_nodes(sel.selection_set, fragments, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                total += _count_nodes(frag.selection_set, fragments, seen | {sel.name.value})
    return total


class GraphQLApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def handle(self, body: bytes) -> Response:
        now = self.sim.clock()
        try:
            payload = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._errors(
                400, ["failed to parse request: expected a JSON object with a query"], now
            )
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return self._errors(400, ["failed to parse request: variables must be an object"], now)

        schema = stream_schema()
        doc, problems = _parse_and_validate(payload["query"])
        if doc is None or problems:
            return self._errors(400, problems, now)

        operation = self._operation(doc, payload.get("operationName"))
        if isinstance(operation, str):
            return self._errors(400, [operation], now)
        if operation.operation != OperationType.QUERY:
            return self._errors(400, ["Mutations are not supported"], now)
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return self._errors(400, [e.message for e in coerced], now)

        fragments = {
            d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)
        }
        nodes = _count_nodes(operation.selection_set, fragments)
        budget = self.sim.node_budget
        if budget is not None and nodes and not budget.try_acquire(nodes):
            return graphql_errors(200, [graphql_error(BUDGET_MESSAGE, now, code="budget")])
        self.sim.stats.add(nodes=nodes)

        if any(
            isinstance(s, FieldNode) and s.name.value in ("__schema", "__type")
            for s in operation.selection_set.selections
        ):
            result = execute(
                schema,
                doc,
                variable_values=variables,
                operation_name=operation.name and operation.name.value,
            )
            errors = [e.formatted for e in result.errors] if result.errors else None
            return json_response(200, {"data": result.data, "errors": errors})

        walker = _Walker(self.sim, schema, fragments, coerced, nodes)
        try:
            data = walker.root(operation.selection_set)
        except _Failure as fail:
            return graphql_errors(fail.status, [graphql_error(fail.message, now, fail.path)])
        return json_response(200, {"data": data, "errors": None})

    @staticmethod
    def _operation(doc: DocumentNode, name: Any) -> OperationDefinitionNode | str:
        ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
        if name:
            for op in ops:
                if op.name and op.name.value == name:
                    return op
            return f"Unknown operation named '{name}'."
        if len(ops) != 1:
            return "Must provide operation name if query contains multiple operations."
        return ops[0]

    @staticmethod
    def _errors(status: int, messages: list[str], now: float) -> Response:
        return graphql_errors(status, [graphql_error(m, now) for m in messages])


class _Walker:
    """Executes a validated query: viewer -> accounts -> data nodes, honouring aliases,
    fragments and @include/@skip (all through graphql-core's field collection)."""

    def __init__(
        self,
        sim: Simulator,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        nodes: int,
    ) -> None:
        self.sim = sim
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.nodes = nodes

    def _type(self, name: str) -> GraphQLObjectType:
        t = self.schema.get_type(name)
        assert isinstance(t, GraphQLObjectType)
        return t

    def _sub(self, type_: GraphQLObjectType, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        return collect_sub_fields(self.schema, self.fragments, self.variables, type_, nodes)

    def root(self, selection_set: SelectionSetNode) -> dict[str, Any]:
        query = self.schema.query_type
        assert query is not None
        fields = collect_fields(self.schema, self.fragments, self.variables, query, selection_set)
        data: dict[str, Any] = {}
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                data[key] = "Query"
            elif name == "cost":
                data[key] = self.nodes
            elif name == "viewer":
                data[key] = self.viewer(nodes, [key])
        return data

    def viewer(self, nodes: list[FieldNode], path: list[str]) -> dict[str, Any]:
        vt = self._type("viewer")
        out: dict[str, Any] = {}
        for key, fnodes in self._sub(vt, nodes).items():
            name = fnodes[0].name.value
            if name == "__typename":
                out[key] = "viewer"
            elif name == "budget":
                budget = self.sim.node_budget
                out[key] = budget.remaining() if budget else self.sim.config.node_budget_limit
            elif name == "accounts":
                args = get_argument_values(vt.fields[name], fnodes[0], self.variables)
                if args["filter"]["accountTag"] != self.sim.config.account_id:
                    raise _Failure(403, "not authorized for that account", [*path, key])
                out[key] = [self.account(fnodes, [*path, key, "0"])]
        return out

    def account(self, nodes: list[FieldNode], path: list[str]) -> dict[str, Any]:
        at = self._type("account")
        out: dict[str, Any] = {}
        for key, fnodes in self._sub(at, nodes).items():
            name = fnodes[0].name.value
            if name == "__typename":
                out[key] = "account"
            elif name == "accountTag":
                out[key] = self.sim.config.account_id
            elif name == "settings":
                out[key] = self.static(self._type("AccountSettings"), fnodes, self.settings())
            elif name == NODE:
                args = get_argument_values(at.fields[name], fnodes[0], self.variables)
                out[key] = self.groups(fnodes, args, [*path, key])
        return out

    def settings(self) -> dict[str, Any]:
        cfg = self.sim.config
        fields = ["count", "sum.minutesViewed"] + [
            f"dimensions.{d}"
            for d in self._type("AccountStreamMinutesViewedAdaptiveGroupsDimensions").fields
        ]
        node = {
            "availableFields": fields,
            "enabled": True,
            "maxDuration": cfg.max_range_days * 86400,
            "maxNumberOfFields": 30,
            "maxPageSize": cfg.max_limit,
            "notOlderThan": cfg.retention_days * 86400,
        }
        return {NODE: node}

    def static(
        self, type_: GraphQLObjectType, nodes: list[FieldNode], value: dict[str, Any]
    ) -> Any:
        out: dict[str, Any] = {}
        for key, fnodes in self._sub(type_, nodes).items():
            name = fnodes[0].name.value
            if name == "__typename":
                out[key] = type_.name
                continue
            field_type = type_.fields[name].type
            while isinstance(field_type, GraphQLNonNull | GraphQLList):
                field_type = field_type.of_type
            v = value[name]
            out[key] = (
                self.static(field_type, fnodes, v)
                if isinstance(field_type, GraphQLObjectType)
                else v
            )
        return out

    def groups(self, nodes: list[FieldNode], args: dict[str, Any], path: list[str]) -> list[Any]:
        cfg = self.sim.config
        limit = args["limit"]
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise _Failure(
                400, f"error parsing args: limit: expected an integer, got {limit!r}", path
            )
        if not 0 < limit <= cfg.max_limit:
            raise _Failure(
                400, f"limit must be positive number and not greater than {cfg.max_limit}", path
            )
        flt = args["filter"]
        order_by = args.get("orderBy") or []
        max_seconds = cfg.max_range_days * 86400
        try:
            lo, hi = time_bounds(flt)
        except QueryError as exc:
            raise _Failure(exc.status, exc.message, path) from None
        if lo is None or hi is None:
            raise _Failure(
                400,
                f"query time range is too large: the filter must bound the time (datetime or "
                f"date) on both sides, maximum is {max_seconds}s",
                path,
            )
        if hi - lo > max_seconds:
            raise _Failure(
                400,
                f"query time range is too large: {int(hi - lo)}s requested, "
                f"maximum is {max_seconds}s",
                path,
            )
        now = self.sim.clock()
        if cfg.retention_check and lo < now - cfg.retention_days * 86400:
            raise _Failure(
                400, f"cannot request data older than {cfg.retention_days * 86400}s", path
            )

        plan, dims = self._plan(nodes)
        platform = self.sim.platform
        recs = platform.window(lo, hi) if hi > lo else None
        if recs is None:
            return []
        for stale in self.sim.stale_samples:
            if stale.applies(dims, lo, hi):
                inside = (recs.ts >= stale.start) & (recs.ts < stale.end)
                recs = recs.take(~inside | (np.arange(len(recs)) % stale.one_in != 0))
        try:
            result = run_node(
                recs,
                platform.catalog,
                flt,
                dims,
                order_by,
                limit,
                visible_at=now if cfg.hide_future else None,
            )
        except QueryError as exc:
            raise _Failure(exc.status, exc.message, path) from None
        return _render(plan, result.dims, result.count, result.minutes)

    def _plan(self, nodes: list[FieldNode]) -> tuple[list[tuple[str, str, Any]], list[str]]:
        """What each row must look like: (response key, field, sub-plan), and the dimensions
        to group by (every dimension asked for anywhere in the node, in order)."""
        gt = self._type(GROUP_TYPE)
        plan: list[tuple[str, str, Any]] = []
        dims: list[str] = []
        for key, fnodes in self._sub(gt, nodes).items():
            name = fnodes[0].name.value
            if name in ("sum", "dimensions"):
                sub_type = gt.fields[name].type
                assert isinstance(sub_type, GraphQLObjectType)
                sub = [(k, f[0].name.value) for k, f in self._sub(sub_type, fnodes).items()]
                sub = [(k, sub_type.name if f == "__typename" else f) for k, f in sub]
                if name == "dimensions":
                    dims.extend(f for _, f in sub if f in sub_type.fields and f not in dims)
                plan.append((key, name, sub))
            else:
                plan.append((key, name, None))
        return plan, dims


def _render(
    plan: list[tuple[str, str, Any]],
    dims: dict[str, list[Any]],
    count: list[int],
    minutes: list[int],
) -> list[dict[str, Any]]:
    """Rows in the requested shape. A page has up to 10,000 rows, so the row builder is one
    generated dict display (keys are validated GraphQL names, embedded with repr)."""
    names = list(dims)
    arg = {f: f"d{i}" for i, f in enumerate(names)}

    def obj(sub: list[tuple[str, str]], source: dict[str, str]) -> str:
        return "{" + ", ".join(f"{k!r}: {source.get(f, repr(f))}" for k, f in sub) + "}"

    parts = []
    for key, name, sub in plan:
        if name == "count":
            parts.append(f"{key!r}: c")
        elif name == "__typename":
            parts.append(f"{key!r}: {GROUP_TYPE!r}")
        elif name == "sum":
            parts.append(f"{key!r}: {obj(sub, {'minutesViewed': 'm'})}")
        else:
            parts.append(f"{key!r}: {obj(sub, arg)}")
    params = ", ".join(["c", "m", *arg.values()])
    build = eval(f"lambda {params}: {{{', '.join(parts)}}}")
    return list(map(build, count, minutes, *(dims[f] for f in names)))
