"""Reading a request's JSON body: bad JSON is a 400 that says what is wrong, never a 500.

The size limit is enforced before reading by `sync.request_body.BodyLimit` (installed on
the app); the check here is a second fence for apps built without it.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from cloud.api.errors import BadRequest, UnsupportedMediaType
from sync.request_body import CLOUD_BODY_LIMIT, json_type_problem

MAX_BODY_BYTES = CLOUD_BODY_LIMIT


async def json_body(request: Request, *, empty: Any = None) -> Any:
    """The request body parsed as JSON (`empty` when there is no body).

    Raises:
        BadRequest: the body is too large, not UTF-8 or not JSON (the message says where).
        UnsupportedMediaType: a body whose Content-Type is not JSON.
    """
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    if not raw.strip():
        return empty
    problem = json_type_problem(request.headers.get("content-type"))
    if problem is not None:
        raise UnsupportedMediaType(problem)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        BadRequest: no body, bad JSON, or JSON that is not an object.
    """
    value = await json_body(request)
    if value is None:
        raise BadRequest("request body is empty; send a JSON object")
    if not isinstance(value, dict):
        raise BadRequest(f"request body must be a JSON object, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
