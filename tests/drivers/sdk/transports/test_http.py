"""HTTPClient against a real hypercorn server (trio worker) running a tiny Starlette app."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from functools import partial
from typing import cast

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve
from hypercorn.typing import ASGIFramework
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from drivers.sdk.errors import CommandTimeoutError, ConnectError, ConnectionLostError
from drivers.sdk.transports.http import HTTPClient
from tests.drivers.sdk.transports.conftest import SelfSignedCert
from tests.drivers.sdk.transports.peers import babble, reset_after_first, serve
from tests.servers.ports import free_port


async def echo(request: Request) -> Response:
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "headers": dict(request.headers),
            "body": (await request.body()).decode(),
        }
    )


async def slow(request: Request) -> Response:
    await trio.sleep(5)
    return Response("late")


async def private(request: Request) -> Response:
    expected = "Basic " + base64.b64encode(b"admin:secret").decode()
    if request.headers.get("authorization") != expected:
        return Response("who are you", status_code=401, headers={"WWW-Authenticate": "Basic"})
    return Response("welcome")


APP = Starlette(
    routes=[
        Route("/api/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/slow", slow),
        Route("/private", private),
    ]
)


async def start_hypercorn(nursery: trio.Nursery, cert: SelfSignedCert | None = None) -> int:
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    if cert is not None:
        config.certfile, config.keyfile = str(cert.cert_path), str(cert.key_path)
    app = cast("ASGIFramework", APP)  # Starlette is an ASGI app; the two packages' types disagree
    await nursery.start(partial(hypercorn_serve, app, config, shutdown_trigger=trio.sleep_forever))
    return port


@pytest.fixture
async def web_server(nursery: trio.Nursery) -> AsyncIterator[int]:
    yield await start_hypercorn(nursery)


@pytest.fixture
async def tls_web_server(nursery: trio.Nursery, self_signed_cert: SelfSignedCert) -> AsyncIterator[int]:
    yield await start_hypercorn(nursery, self_signed_cert)


async def test_round_trip_every_method(web_server: int) -> None:
    async with HTTPClient(f"http://127.0.0.1:{web_server}/api/", headers={"X-Device": "d1"}) as http:
        got = (await http.get("status", params={"q": "power"})).json()
        assert got["method"] == "GET"
        assert got["path"] == "/api/status"
        assert got["query"] == {"q": "power"}
        assert got["headers"]["x-device"] == "d1"
        got = (await http.post("power", json={"on": True})).json()
        assert (got["method"], json.loads(got["body"])) == ("POST", {"on": True})
        assert (await http.put("input", content=b"hdmi1")).json()["body"] == "hdmi1"
        assert (await http.delete("preset/3")).json()["method"] == "DELETE"


async def test_basic_auth_and_error_statuses_come_back_as_responses(web_server: int) -> None:
    async with HTTPClient(f"http://127.0.0.1:{web_server}/") as anonymous:
        assert (await anonymous.get("private")).status_code == 401
        assert (await anonymous.get("nowhere")).status_code == 404
    async with HTTPClient(f"http://127.0.0.1:{web_server}/", auth=("admin", "secret")) as http:
        response = await http.get("private")
        assert (response.status_code, response.text) == (200, "welcome")


async def test_https_with_a_self_signed_certificate(tls_web_server: int) -> None:
    base = f"https://127.0.0.1:{tls_web_server}/api/"
    async with HTTPClient(base, verify=False) as http:
        assert (await http.get("x")).json()["path"] == "/api/x"
    async with HTTPClient(base) as strict:
        with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await strict.get("x")


async def test_connect_refused() -> None:
    async with HTTPClient(f"http://127.0.0.1:{free_port()}/") as http:
        with pytest.raises(ConnectError, match="could not connect"):
            await http.get("status")


async def test_slow_answer_is_a_command_timeout(web_server: int) -> None:
    async with HTTPClient(f"http://127.0.0.1:{web_server}/", timeout=0.2) as http:
        with pytest.raises(CommandTimeoutError, match="ReadTimeout"):
            await http.get("slow")


async def test_peer_drops_mid_request(nursery: trio.Nursery) -> None:
    port = await serve(nursery, reset_after_first)
    async with HTTPClient(f"http://127.0.0.1:{port}/") as http:
        with pytest.raises(ConnectionLostError):
            await http.get("status")


async def test_garbage_instead_of_http(nursery: trio.Nursery) -> None:
    port = await serve(nursery, babble)
    async with HTTPClient(f"http://127.0.0.1:{port}/") as http:
        with pytest.raises(ConnectionLostError):
            await http.get("status")


async def test_client_can_be_used_after_an_error(web_server: int) -> None:
    async with HTTPClient(f"http://127.0.0.1:{web_server}/", timeout=0.2) as http:
        with pytest.raises(CommandTimeoutError):
            await http.get("slow")
        assert (await http.get("api/ok")).status_code == httpx.codes.OK
