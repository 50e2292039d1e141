"""A control session's `Peer` over an accepted Starlette WebSocket (any ASGI server).

The edge's own listener uses a raw WebSocket that writes a batch in one send; this is the
adapter for everything served through Starlette (the cloud API on hypercorn, the edge's
FastAPI route).
"""

from __future__ import annotations

from starlette.websockets import WebSocket


class StarletteControlPeer:
    """A `Peer` (sync/control/ports.py) over a Starlette WebSocket: one message per frame."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def receive(self) -> str | bytes | None:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def send_many(self, frames: list[str]) -> None:
        for frame in frames:
            await self.websocket.send_text(frame)
