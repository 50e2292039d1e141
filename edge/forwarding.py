"""Exec for a module another node of the site runs: forwarded to that node's local API.

PlaceOS core does the same (a driver-to-driver exec for a module loaded elsewhere goes over
HTTP to the owning core, core `process_manager/local.cr`). The peer checks the call's level
again; this node authenticates to it with the site's node key (`X-API-Key`), and the peer
runs the call at the level carried in `X-Transom-Level`, never above the key's own role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from drivers.sdk import (
    AccessDeniedError,
    DriverError,
    FunctionTimeoutError,
    InvalidArgumentsError,
    Level,
    UnknownFunctionError,
    UnknownModuleError,
)
from edge.errors import ModuleNotRunning, PeerUnreachable

# One forwarded exec's bound: the owner's own bound plus the hop.
FORWARD_TIMEOUT = 50.0

_BY_ERROR: dict[str, type[DriverError]] = {
    "module_not_found": UnknownModuleError,
    "function_not_found": UnknownFunctionError,
    "access_denied": AccessDeniedError,
    "bad_arguments": InvalidArgumentsError,
    "timeout": FunctionTimeoutError,
    "module_offline": ModuleNotRunning,
}


class PeerForwarder:
    """Runs execs on other nodes through their local API (one pooled httpx client)."""

    def __init__(self, *, api_key: str = "", timeout: float = FORWARD_TIMEOUT) -> None:
        self._client = httpx.AsyncClient(timeout=timeout)
        self._api_key = api_key

    async def aclose(self) -> None:
        await self._client.aclose()

    async def execute(
        self,
        base_url: str,
        module_id: str,
        method: str,
        args: Sequence[Any] | Mapping[str, Any],
        *,
        level: Level,
    ) -> Any:
        """Run `method` on the node at `base_url`.

        Raises:
            PeerUnreachable: the node did not answer.
            DriverError: the error the peer reported, rebuilt as its kind.
        """
        body = orjson.dumps(dict(args) if isinstance(args, Mapping) else list(args))
        url = f"{base_url.rstrip('/')}/api/engine/v2/modules/{module_id}/exec/{method}"
        headers = {"content-type": "application/json", "x-transom-level": level.name.lower()}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise PeerUnreachable(f"the node at {base_url} did not answer: {exc}") from None
        if response.status_code == 200:
            return response.json()
        try:
            error = response.json()
        except ValueError:
            error = {}
        kind = _BY_ERROR.get(str(error.get("error")), DriverError)
        raise kind(str(error.get("message") or f"the node at {base_url} answered {response.status_code}"))
