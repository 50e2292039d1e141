"""Turns a store Query into SQLite SQL over JSON documents (json_extract, json_each).

Documents live as JSON text in `documents.doc`; the id is also a column. Values are always
bound parameters. Field paths are written into the SQL as literals: base.Filter and
base.Order accept only dotted identifiers, which need no quoting and cannot inject.
Comparisons check the JSON type as well as the value, so `true` never equals 1 and the
string "[1]" never equals a list.
"""

from __future__ import annotations

from typing import Any

from cloud.store.base import Filter, Order, Query
from cloud.store.sqlite_schema import NAME_COLUMN


def _path(field: str) -> str:
    return "'$." + field + "'"


def _match(type_expr: str, value_expr: str, value: Any, params: list[Any]) -> str:
    """SQL that is true when the JSON value (given by its type and value expressions) equals `value`."""
    if value is None:
        return f"({type_expr} IS NULL OR {type_expr} = 'null')"
    if isinstance(value, bool):
        return f"{type_expr} = '{'true' if value else 'false'}'"
    if isinstance(value, int | float):
        params.append(value)
        return f"({type_expr} IN ('integer', 'real') AND {value_expr} = ?)"
    params.append(value)
    return f"({type_expr} = 'text' AND {value_expr} = ?)"


def _condition(flt: Filter, params: list[Any]) -> str:
    if flt.field == "id" and flt.op != "contains":
        values = flt.value if flt.op == "in" else (flt.value,)
        ids = [v for v in values if isinstance(v, str)]
        params.extend(ids)
        return f"id IN ({', '.join('?' * len(ids))})" if ids else "0"
    if flt.op == "contains":
        test = _match("je.type", "je.value", flt.value, params)
        return f"EXISTS (SELECT 1 FROM json_each(doc, {_path(flt.field)}) AS je WHERE {test})"
    values = flt.value if flt.op == "in" else (flt.value,)
    if not values:
        return "0"
    path = _path(flt.field)
    parts = [_match(f"json_type(doc, {path})", f"json_extract(doc, {path})", v, params) for v in values]
    return "(" + " OR ".join(parts) + ")"


def where_clause(table: str, filters: tuple[Filter, ...] | list[Filter], params: list[Any]) -> str:
    """The WHERE clause (without the keyword) for a table and its filters; appends to `params`."""
    params.append(table)
    conditions = ["tbl = ?"] + [_condition(f, params) for f in filters]
    return " AND ".join(conditions)


def order_clause(orders: tuple[Order, ...]) -> str:
    """The ORDER BY clause (without the keywords); ties always fall back to the id, ascending."""
    terms = []
    for order in orders:
        if order.field == "id":
            terms.append("id DESC" if order.desc else "id")
            continue
        # `name` is kept as a column (see sqlite_schema.NAME_COLUMN), indexed with the table.
        column = NAME_COLUMN if order.field == "name" else f"json_extract(doc, {_path(order.field)})"
        terms.append(column + (" DESC" if order.desc else ""))
    if not any(o.field == "id" for o in orders):
        terms.append("id")
    return ", ".join(terms)


def select_page(table: str, query: Query) -> tuple[str, list[Any], str, list[Any]]:
    """SQL and parameters for the ids of one page of `query`, and for counting every match."""
    where_params: list[Any] = []
    where = where_clause(table, list(query.filters), where_params)
    order = order_clause(query.orders)
    limit = -1 if query.limit is None else query.limit
    page_sql = f"SELECT id FROM documents WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
    page_params = [*where_params, limit, query.offset]
    count_sql = f"SELECT count(*) FROM documents WHERE {where}"
    return page_sql, page_params, count_sql, where_params
