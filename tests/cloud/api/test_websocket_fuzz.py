"""Hypothesis fuzzes the control WebSocket: arbitrary JSON, request-shaped frames, text and bytes.

Each example opens a session on a real server (tests/cloud/live_api.py), sends its frames,
then `ping`: every answer must be a JSON object of a known type (or `pong`), the session
must still answer the ping, and the next example's new session must open. A seeded
300-frame fuzz of one long session is in test_websocket.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trio_websocket import open_websocket_url

from tests.cloud.api.conftest import PREFIX
from tests.cloud.live_api import LiveApi, admin_headers, seed

# Examples, each a fresh session with up to MAX_FRAMES frames.
EXAMPLES = 200
MAX_FRAMES = 12
TIMEOUT = 10
REPLY_TYPES = {"success", "notify", "error", "debug"}

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25,
)


def _frames(sys_id: str) -> st.SearchStrategy[str | bytes]:
    words = st.sampled_from(["", "Display", "Display_1", sys_id, "power", "sys-NOPE", "mod-NOPE"])
    request = st.fixed_dictionaries(
        {},
        optional={
            "id": st.integers(min_value=-(2**70), max_value=2**70) | JSON,
            "cmd": st.sampled_from(["bind", "unbind", "exec", "debug", "ignore"]) | JSON,
            "sys": words | JSON,
            "mod": words | JSON,
            "index": st.integers(min_value=-3, max_value=2**40) | JSON,
            "name": words | JSON,
            "args": st.lists(JSON, max_size=4) | JSON,
        },
    )
    return (
        request.map(json.dumps)
        | JSON.map(json.dumps)
        | st.text(max_size=200)
        | st.binary(max_size=200)
        | st.just("ping")
    )


@pytest.fixture(scope="module")
def control_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    api = LiveApi(tmp_path_factory.mktemp("ws-fuzz"))
    try:
        headers = admin_headers(api)
        known = seed(api, headers)
        token = headers["Authorization"].removeprefix("Bearer ")
        url = api.base_url.replace("http://", "ws://") + f"{PREFIX}/systems/control?bearer_token={token}"
        yield url, known["sys_id"]
    finally:
        api.close()


async def _exchange(url: str, frames: list[str | bytes]) -> list[Any]:
    """Send the frames and a ping on a new session; the answers up to the last pong."""
    pongs = 1 + sum(1 for f in frames if isinstance(f, str) and f.strip() == "ping")
    answers: list[Any] = []
    with trio.fail_after(TIMEOUT):
        async with open_websocket_url(url) as ws:
            for frame in frames:
                await ws.send_message(frame)
            await ws.send_message("ping")
            while pongs:
                message = await ws.get_message()
                if message == "pong":
                    pongs -= 1
                    continue
                answers.append(json.loads(message))
    return answers


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_frames_never_break_the_session(control_url: tuple[str, str], data: st.DataObject) -> None:
    url, sys_id = control_url
    frames = data.draw(st.lists(_frames(sys_id), max_size=MAX_FRAMES), label="frames")
    for answer in trio.run(_exchange, url, frames):
        assert isinstance(answer, dict) and answer.get("type") in REPLY_TYPES, answer
        if answer["type"] == "error":
            assert isinstance(answer.get("error_code"), int) and isinstance(answer.get("msg"), str)
