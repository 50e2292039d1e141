"""The local API serves what the site has, read-only, from the replica (before: 404 for all of it).

A room panel or a script on the LAN can discover systems and modules with the WAN down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.edge.node_harness import running_node, wait_for
from tests.edge.site_files import ADMIN_KEY, API_KEY, site


async def test_the_local_api_lists_what_the_site_has(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        async with httpx.AsyncClient(
            base_url=node.api + "/api/engine/v2", headers={"x-api-key": API_KEY}
        ) as api:
            root = await api.get("")
            assert root.status_code == 200 and root.json()["links"]["systems"] == "/api/engine/v2/systems"
            systems = await api.get("/systems")
            assert systems.status_code == 200 and [s["id"] for s in systems.json()] == ["sys-room1"]
            assert systems.headers["x-total-count"] == "1"
            assert (await api.get("/systems", params={"q": "nothing like it"})).json() == []
            room = (await api.get("/systems/sys-room1")).json()
            ordered = [m["id"] for m in room["module_data"]]
            assert ordered and all(m in room["modules"] for m in ordered)
            modules = await api.get("/modules", params={"control_system_id": "sys-room1"})
            assert {m["id"] for m in modules.json()} == set(ordered)
            one = await api.get(f"/modules/{ordered[0]}")
            assert one.status_code == 200 and one.json()["id"] == ordered[0]
            assert (await api.get("/modules/mod-nope")).status_code == 404
            assert (await api.get("/systems/sys-nope")).status_code == 404
            assert [z["id"] for z in (await api.get("/zones")).json()] == ["zone-building1"]
            drivers = (await api.get("/drivers")).json()
            assert drivers and all(d["default_settings"] == {} for d in drivers)  # a user's view
            paged = await api.get("/modules", params={"limit": 1, "offset": 1})
            assert len(paged.json()) == 1 and int(paged.headers["x-total-count"]) == len(ordered)
        async with httpx.AsyncClient(base_url=node.api) as anonymous:
            assert (await anonymous.get("/api/engine/v2/systems")).status_code == 401
            docs = await anonymous.get("/api/engine/v2/docs")
            assert docs.status_code == 200 and "cdn" not in docs.text.lower()
            assert (await anonymous.get("/health")).json()["status"] == "ok"
            assert (await anonymous.get("/ready")).status_code == 200
            metrics = (await anonymous.get("/metrics")).text
            assert 'transom_modules{state="' in metrics and "transom_driver_host_restarts" in metrics
        admin = {"x-api-key": ADMIN_KEY}
        async with httpx.AsyncClient(base_url=node.api + "/api/engine/v2", headers=admin) as api:
            shown = {d["id"]: d["default_settings"] for d in (await api.get("/drivers")).json()}
            stored = {d["id"]: d.get("default_settings", {}) for d in site()["drivers"]}
            assert shown == stored and any(shown.values())  # support and admins see them


@pytest.mark.slow  # a crash loop of a real driver host: ~25 s on a loaded machine
async def test_modules_are_shown_as_the_site_sees_them(tmp_path: Path) -> None:
    async with (
        running_node(tmp_path, doomed=True) as node,
        httpx.AsyncClient(base_url=node.api + "/api/engine/v2", headers={"x-api-key": API_KEY}) as api,
    ):

        async def shown(module_id: str) -> dict[str, Any]:
            answer = await api.get(f"/modules/{module_id}")
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body

        async def doomed_failing() -> bool:
            return bool((await shown("mod-doomed"))["has_runtime_error"])

        async def display_connected() -> bool:
            return bool((await shown("mod-display1"))["connected"])

        await wait_for(doomed_failing)
        doomed = await shown("mod-doomed")
        assert doomed["connected"] is False and "status 3" in doomed["runtime_error"]
        await wait_for(display_connected)
        room = await shown("mod-room")
        assert room["connected"] is True and room["has_runtime_error"] is False
