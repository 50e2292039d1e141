"""The RethinkDB engine's ReQL: its tables and indexes, and a store Query with SQLite's semantics.

Tables (one database per store):

    documents  {id: [tbl, key], tbl, key, revision, doc}   doc is None for a deleted document
    changes    {id: revision, tbl, key, op, doc, batch}    every committed write
    head       {id: "head", revision, batch}               the newest revision, its batch

Deleted documents stay as tombstones (doc None) so that a batch applied late by a frozen
process can never bring a deleted document back (see rethinkdb.py); every read skips them.

The semantics are SQLite's (sqlite_query.py), so all engines list the same pages:

- A filter matches only values of its own JSON type (ReQL equality already keeps `true`
  apart from 1 and "10" apart from 10, and 1 equals 1.0). `None` matches null or missing.
- `contains` looks inside a list (or an object's values, or the scalar itself, as SQLite's
  json_each does); a missing field contains nothing.
- Ordering follows SQLite's order of json_extract values: null/missing first, then numbers
  and booleans (as 0/1) by value, then strings (and lists/objects by their JSON text)
  by code point; ties fall back to the id.

Secondary indexes serve the hot paths: `by_name` (the list page, ordered by name, an index
walk), equality on the fields the API filters on (`eq_parent_id`, ...), and `zones` (a multi
index: which systems are in a zone). A query uses at most one; the rest is filtered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rethinkdb import r

from cloud.store.base import Filter, Order, Query

DOCUMENTS, CHANGES, HEAD = "documents", "changes", "head"
TABLES = (DOCUMENTS, CHANGES, HEAD)
HEAD_ID = "head"
# Fields the cloud filters on by equality (cloud/api) on large tables: each has an index.
# Every index costs on each write (RethinkDB evaluates its function per document: about
# 0.1 ms per document and index on the build VM), so only the hottest filters get one.
EQ_INDEXED = ("parent_id", "control_system_id")
# List fields the cloud asks `contains` of: each has a multi index.
CONTAINS_INDEXED = ("zones",)
ORDERED_BY_NAME = "by_name"


def _alive(row: Any, value: Callable[[], Any]) -> Any:
    """An index function's value, or an error (not indexed) for a tombstone."""
    return r.branch(row["doc"].eq(None), r.error("deleted"), value())


def _step(part: str) -> Callable[[Any], Any]:
    # The driver turns a Python function into ReQL by its argument count: no default
    # arguments in these lambdas, so each is made by a factory like this one.
    return lambda v: r.branch(v.type_of().eq("OBJECT").and_(v.keys().contains(part)), [v[part]], [])


def present(doc: Any, field: str) -> Any:
    """The field's value as an array: [] when missing (or a step is not an object), else [value]."""
    opt = r.expr([doc])
    for part in field.split("."):
        opt = opt.concat_map(_step(part))
    return opt


def value_of(doc: Any, field: str) -> Any:
    """The field's value, None when missing or null (json_extract's answer)."""
    if "." not in field:  # documents are objects: a missing top-level field is all `default` catches
        return doc[field].default(None)
    return present(doc, field).nth(0).default(None)


def _members(opt: Any) -> Any:
    """What json_each yields for a present value: list items, object values, or the value itself."""
    return opt.concat_map(
        lambda x: r.branch(x.type_of().eq("ARRAY"), x, x.type_of().eq("OBJECT"), x.values(), [x])
    )


def sort_keys(value: Any) -> list[Any]:
    """Three keys that order JSON values as SQLite orders json_extract results."""
    kind = value.type_of()
    textual = r.expr(["STRING", "ARRAY", "OBJECT"]).contains(kind)
    return [
        r.branch(kind.eq("NUMBER").or_(kind.eq("BOOL")), 1, textual, 2, 0),
        r.branch(kind.eq("NUMBER"), value, kind.eq("BOOL"), r.branch(value, 1, 0), 0),
        r.branch(kind.eq("STRING"), value, textual, value.to_json_string(), ""),
    ]


def _by_name(row: Any) -> Any:
    return _alive(row, lambda: [row["tbl"], *sort_keys(value_of(row["doc"], "name"))])


def _eq_index(field: str) -> Callable[[Any], Any]:
    # Missing and null both index as null (never looked up: only strings use the index).
    # Not an error for a missing field: RethinkDB makes each error with its backtrace, which
    # made an index over a field most tables lack cost twice what the others do.
    return lambda row: _alive(row, lambda: [row["tbl"], row["doc"][field].default(None)])


def _contains_index(field: str) -> Callable[[Any], Any]:
    return lambda row: _alive(
        row, lambda: _members(present(row["doc"], field)).distinct().map(lambda m: [row["tbl"], m])
    )


def indexes() -> dict[str, tuple[Callable[[Any], Any], bool]]:
    """Secondary indexes of the documents table: name -> (function, multi)."""
    made: dict[str, tuple[Callable[[Any], Any], bool]] = {ORDERED_BY_NAME: (_by_name, False)}
    for field in EQ_INDEXED:
        made[f"eq_{field}"] = (_eq_index(field), False)
    for field in CONTAINS_INDEXED:
        made[f"in_{field}"] = (_contains_index(field), True)
    return made


def _condition(doc: Any, flt: Filter) -> Any:
    if flt.op == "contains":
        return _members(present(doc, flt.field)).contains(flt.value)
    value = value_of(doc, flt.field)
    if flt.op == "in":
        return r.expr(list(flt.value)).contains(value) if flt.value else False
    return value.eq(flt.value)


def _index_source(table: str, filters: tuple[Filter, ...]) -> Any | None:
    """A get_all on a secondary index for the first filter one can serve, else None."""
    for flt in filters:
        top = flt.field
        if flt.op == "eq" and top in EQ_INDEXED and isinstance(flt.value, str):
            return r.table(DOCUMENTS).get_all([table, flt.value], index=f"eq_{top}")
        if flt.op == "in" and top in EQ_INDEXED and flt.value and all(isinstance(v, str) for v in flt.value):
            return r.table(DOCUMENTS).get_all(*[[table, v] for v in flt.value], index=f"eq_{top}")
        if flt.op == "contains" and top in CONTAINS_INDEXED and isinstance(flt.value, str):
            return r.table(DOCUMENTS).get_all([table, flt.value], index=f"in_{top}")
        if top == "id" and flt.op in ("eq", "in"):
            ids = flt.value if flt.op == "in" else (flt.value,)
            keys = [[table, v] for v in dict.fromkeys(ids) if isinstance(v, str)]
            return r.table(DOCUMENTS).get_all(*keys) if keys else r.expr([])
    return None


def _whole_table(table: str, index: str = "id") -> Any:
    return r.table(DOCUMENTS).between([table, r.minval], [table, r.maxval], index=index)


def _filtered(rows: Any, filters: tuple[Filter, ...]) -> Any:
    def keep(row: Any) -> Any:
        test = row["doc"].ne(None)
        for flt in filters:
            test = test.and_(_condition(row["doc"], flt))
        return test

    return rows.filter(keep)


def _order_key(field: str, position: int) -> Callable[[Any], Any]:
    return lambda row: sort_keys(value_of(row["doc"], field))[position]


def _sorted(rows: Any, orders: tuple[Order, ...]) -> Any:
    """Order in memory by each field's SQLite keys, ties by id ascending."""
    keys: list[Any] = []
    for order in orders:
        way = r.desc if order.desc else r.asc
        if order.field == "id":
            keys.append(way(lambda row: row["key"]))
            continue
        for position in range(3):
            keys.append(way(_order_key(order.field, position)))
    if not any(o.field == "id" for o in orders):
        keys.append(r.asc(lambda row: row["key"]))
    return rows.order_by(*keys)


def page_query(table: str, query: Query) -> tuple[Any, Any]:
    """ReQL for one page of `query` (the documents, as an array) and for counting every match."""
    orders = query.orders
    filters = tuple(query.filters)
    source = _index_source(table, filters)
    if source is not None:
        matching = _filtered(source, filters)
        ordered = _sorted(matching, orders)
    elif not orders or orders == (Order("id"),) or orders == (Order("id", desc=True),):
        way = r.desc if orders and orders[0].desc else r.asc
        matching = _filtered(_whole_table(table), filters)
        ordered = _filtered(_whole_table(table).order_by(index=way("id")), filters)
    elif orders == (Order("name"),):
        # An index walk; ties in a secondary index come in primary key order: by id.
        matching = _filtered(_whole_table(table), filters)
        named = _whole_table(table, ORDERED_BY_NAME).order_by(index=r.asc(ORDERED_BY_NAME))
        ordered = _filtered(named, filters)  # every live document is in the index
    else:
        matching = _filtered(_whole_table(table), filters)
        ordered = _sorted(matching, orders)
    if query.offset:
        ordered = ordered.skip(query.offset)
    if query.limit is not None:
        ordered = ordered.limit(query.limit)
    return ordered.map(lambda row: row["doc"]).coerce_to("array"), matching.count()


def applied_revision() -> Any:
    """The newest revision whose batch is fully applied to the documents table (see rethinkdb.py)."""
    return (
        r.table(HEAD)
        .get(HEAD_ID)
        .do(
            lambda h: r.branch(
                h.eq(None),
                0,
                h["batch"].eq(None),
                h["revision"],
                r.table(CHANGES).get(h["revision"]).ne(None),
                h["revision"],
                h["batch"]["first"].sub(1),
            )
        )
    )
