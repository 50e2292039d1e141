"""The cloud bounds request bodies before reading them and wants JSON to say it is JSON (real socket).

Before: a body was read whole and then checked (a 100 MiB POST to /auth/oauth/token grew
the cloud by 160 MiB before the 400), and a JSON body with any Content-Type was parsed,
so a cross-site plain form could post JSON (CSRF where a cookie is the credential).
"""

from __future__ import annotations

import json

from sync.request_body import AUTH_BODY_LIMIT
from tests.cloud.api.conftest import Api, seed_room
from tests.raw_http import raw_request, request_head


async def test_cloud_refuses_a_huge_declared_body_before_reading_it(api: Api) -> None:
    head = request_head(
        "POST",
        "/auth/oauth/token",
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(100 * 1024 * 1024)},
    )
    status, answer = await raw_request(api.base_url, head)  # no body is ever sent
    assert status == 413 and answer["error"] == "body_too_large"
    assert str(AUTH_BODY_LIMIT) in answer["message"]


async def test_cloud_stops_reading_a_chunked_body_at_the_limit(api: Api) -> None:
    head = request_head(
        "POST",
        "/auth/oauth/token",
        {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"},
    )
    chunk = b"a" * 16384
    framed = tuple(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(64))  # 1 MiB
    status, answer = await raw_request(api.base_url, head, framed)
    assert status == 413 and answer["error"] == "body_too_large"


async def test_cloud_wants_json_to_say_it_is_json(api: Api) -> None:
    room = await seed_room(api)
    body = json.dumps({"name": "Sneaky", "zones": room.system["zones"]})
    as_form = await api.admin.post("/systems", content=body, headers={"Content-Type": "text/plain"})
    assert as_form.status_code == 415 and as_form.json()["error"] == "unsupported_media_type"
    untyped = await api.admin.post(f"/systems/{room.system['id']}/Display_1/power", content="[true]")
    assert untyped.status_code == 415
    listed = await api.admin.get("/systems", params={"q": "Sneaky"})
    assert listed.json() == []  # nothing was created
    typed = await api.admin.post("/systems", content=body, headers={"Content-Type": "application/json"})
    assert typed.status_code == 201, typed.text
