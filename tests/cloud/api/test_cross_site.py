"""A cookie credential is refused on requests another site's page made (cross-site WebSocket hijacking, CSRF).

Before: WebSocket upgrades and REST calls took the `api-key` cookie whatever page opened them.
"""

from __future__ import annotations

import httpx
import pytest
from trio_websocket import ConnectionRejected, open_websocket_url

from sync.model import Role
from tests.cloud.api.conftest import PREFIX, Api, seed_room


def _cookie(api: Api) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", f"api-key={api.keys[Role.ADMIN]}".encode())]


async def test_a_foreign_page_cannot_open_the_control_socket_with_a_cookie(api: Api) -> None:
    host = api.base_url.removeprefix("http://")
    url = f"ws://{host}{PREFIX}/systems/control"
    with pytest.raises(ConnectionRejected) as refused:
        async with open_websocket_url(
            url, extra_headers=[*_cookie(api), (b"origin", b"https://evil.example")]
        ):
            pass
    assert refused.value.status_code == 403
    async with open_websocket_url(
        url, extra_headers=[*_cookie(api), (b"origin", f"http://{host}".encode())]
    ) as ws:
        await ws.send_message("ping")
        assert await ws.get_message() == "pong"


async def test_a_foreign_page_cannot_call_the_api_with_a_cookie(api: Api) -> None:
    room = await seed_room(api)
    path = f"{PREFIX}/systems/{room.system['id']}/Display_1/power"
    async with httpx.AsyncClient(base_url=api.base_url, cookies={"api-key": api.keys[Role.ADMIN]}) as browser:
        foreign = await browser.post(path, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403 and foreign.json()["error"] == "cross_origin"
        listed = await browser.get(f"{PREFIX}/systems", headers={"Origin": api.base_url})
        assert listed.status_code == 200
