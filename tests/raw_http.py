"""Raw HTTP/1.1 requests on a socket, for tests that must control exactly what is sent (and what is not)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import trio

# Generous: these wait for an answer that must come without the body being sent at all.
ANSWER_DEADLINE = 20.0


async def raw_request(
    base_url: str, head: str, body_chunks: tuple[bytes, ...] = ()
) -> tuple[int, dict[str, Any]]:
    """Send a request head (and optional body chunks) on a raw socket; the status and JSON answer."""
    parts = urlsplit(base_url)
    stream = await trio.open_tcp_stream(parts.hostname or "127.0.0.1", parts.port or 80)
    async with stream:
        await stream.send_all(head.encode())
        for chunk in body_chunks:
            try:
                await stream.send_all(chunk)
            except trio.BrokenResourceError:
                break  # the server answered and closed: it stopped reading, as it should
        received = b""
        with trio.fail_after(ANSWER_DEADLINE):
            while b"\r\n\r\n" not in received or not _complete(received):
                data = await stream.receive_some(65536)
                if not data:
                    break
                received += data
    status_line, _, rest = received.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body or b"{}")


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def request_head(method: str, path: str, headers: dict[str, str]) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"
