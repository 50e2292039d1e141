"""How PlaceOS answers its REST status routes; the cloud API and the edge's local API both answer so.

PlaceOS keeps each status value as JSON text (Redis `status/<module_id>`, one field per
name) and its REST routes pass that text on, parsed or not, route by route
(PlaceOS/rest-api `controllers/systems.cr` `state`/`state_lookup`, `controllers/modules.cr`
`state`/`state_lookup`):

    GET /systems/{id}/{Module_N}         {name: "<JSON text>"}   Hash(String, String)
    GET /systems/{id}/{Module_N}/{key}   <the value>             JSON.parse(text)
    GET /modules/{id}/state              {name: "<JSON text>"}   Hash(String, String)
    GET /modules/{id}/state/{key}        "<JSON text>"           String (a JSON string)

so `power: true` is `{"power": "true"}` in a whole state, and Backoffice's View State
parses each value. Status values are JSON text on the edge already; the cloud's bus holds
them decoded, and `status_text` encodes them the way Crystal's `to_json` does (compact).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def status_text(value: Any) -> str:
    """A decoded status value as PlaceOS stores it: compact JSON text."""
    return orjson.dumps(value).decode()


def whole_state(texts: Mapping[str, str]) -> dict[str, str]:
    """The body of a whole-state route, from each status's JSON text."""
    return dict(texts)


def module_key_body(text: str) -> bytes:
    """The body of `/modules/{id}/state/{key}`: the value's JSON text, as a JSON string."""
    return orjson.dumps(text)
