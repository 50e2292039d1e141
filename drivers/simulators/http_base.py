"""HTTP/1.1 on the simulator TCP server (h11), so HTTP devices get controller counting and faults too.

A subclass implements `handle(request) -> HttpResponse`. Each request is logged as
"METHOD /target" plus its body (decoded), the `drop` fault closes the connection when a request
arrives, and the other faults act on the whole response.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h11

from drivers.simulators.base import Connection, ConnectionClosed, Simulator

# Bodies bigger than this are refused; no device API the simulators mimic takes more.
MAX_BODY_BYTES = 64 * 1024


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class HttpSimulator(Simulator):
    """A device that speaks HTTP/1.1 (keep-alive: one connection may carry many requests)."""

    default_port = 80
    server_header = "transom-simulator"

    def handle(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    async def session(self, conn: Connection) -> None:
        http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_BODY_BYTES)
        while True:
            try:
                request = await _next_request(http, conn)
            except h11.RemoteProtocolError:
                await conn.reply(_raw_response(http, HttpResponse(400, b"bad request", "text/plain")))
                raise ConnectionClosed("bad HTTP") from None
            body = request.body.decode("utf-8", "replace")
            await conn.received(f"{request.method} {request.target} {body}".strip())
            response = self.handle(request)
            await conn.reply(_raw_response(http, response, self.server_header))
            if http.our_state is h11.MUST_CLOSE or http.their_state is h11.MUST_CLOSE:
                raise ConnectionClosed("HTTP connection: close")
            http.start_next_cycle()


async def _next_request(http: h11.Connection, conn: Connection) -> HttpRequest:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            http.receive_data(await conn.receive_some())
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                raise h11.RemoteProtocolError("body too large")
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in head.headers}
            return HttpRequest(head.method.decode(), head.target.decode("latin-1"), headers, bytes(body))
        elif isinstance(event, h11.ConnectionClosed):
            raise ConnectionClosed("closed by client")


def _raw_response(http: h11.Connection, response: HttpResponse, server: str = "") -> bytes:
    headers = [
        ("content-type", response.content_type),
        ("content-length", str(len(response.body))),
        *response.headers.items(),
    ]
    if server:
        headers.append(("server", server))
    try:
        return b"".join(
            http.send(event) or b""
            for event in (
                h11.Response(status_code=response.status, headers=headers),
                h11.Data(data=response.body),
                h11.EndOfMessage(),
            )
        )
    except h11.LocalProtocolError:  # the request was too broken to answer in HTTP
        return b""
