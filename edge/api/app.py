"""create_app and serve_local_api: the node's local API, served by hypercorn's trio worker.

The control WebSocket's upgrades are taken before hypercorn (`edge/api/front_door.py`) and
served by a raw, batching WebSocket on the same port; the FastAPI route stays for any other
server of the app.
"""

from __future__ import annotations

import ssl
from functools import partial

import trio
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from hypercorn.config import Config

from edge.api import control, directory, routes
from edge.api.auth import AuthenticationFailed
from edge.api.context import ApiContext, api_context
from edge.api.front_door import serve_front_door
from edge.api.panel import install_panel
from edge.api.telemetry import edge_telemetry
from sync.docs_page import install_docs_page
from sync.listen import check_listen as check_sync_listen
from sync.request_body import EDGE_LIMITS, BodyLimit

PREFIX = "/api/engine/v2"
# Seconds open requests and WebSockets get to finish when the node stops.
GRACEFUL_SECONDS = 2.0


def check_listen(listen: str) -> str:
    """Check a HOST:PORT address; see `sync.listen.check_listen`.

    Raises:
        ListenAddressInvalid: naming the problem.
    """
    return check_sync_listen(listen, example="127.0.0.1:8081")


async def authenticated(request: Request) -> None:
    """Dependency of every REST route: the caller, in `request.state.principal`, or 401."""
    request.state.principal = api_context(request).auth.authenticate(request)


def create_app(context: ApiContext) -> FastAPI:
    """The local API app; `context` is what it reaches the node through."""
    app = FastAPI(
        title="Transom edge node",
        summary="Offline control of the site: exec, state and the control WebSocket",
        openapi_url=f"{PREFIX}/edge/openapi.json",  # the docs page reads it (served without credentials)
        docs_url=None,
        redoc_url=None,
    )
    app.state.edge = context
    app.add_middleware(BodyLimit, limits=EDGE_LIMITS)
    edge_telemetry(context).install(app)
    app.include_router(routes.router, prefix=PREFIX, dependencies=[Depends(authenticated)])
    app.include_router(directory.router, prefix=PREFIX, dependencies=[Depends(authenticated)])
    app.include_router(control.router, prefix=PREFIX)

    openapi_url = f"{PREFIX}/edge/openapi.json"
    install_docs_page(app, docs_url=f"{PREFIX}/docs", openapi_url=openapi_url, title=app.title)
    install_panel(app)  # the room panel at `/`

    @app.exception_handler(AuthenticationFailed)
    async def _unauthenticated(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthenticationFailed)
        return JSONResponse(
            {"error": exc.error, "message": exc.message},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="transom-edge"'},
        )

    @app.exception_handler(routes.RouteError)
    async def _refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, routes.RouteError)
        return JSONResponse({"error": exc.error, "message": exc.message}, status_code=exc.status)

    return app


async def serve_local_api(
    app: FastAPI,
    listen: str,
    *,
    shutdown: trio.Event,
    ssl_context: ssl.SSLContext | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `listen` until `shutdown` is set; started() gets the bound URLs.

    With `ssl_context` it serves HTTPS and WSS (`sync.tls.server_ssl_context`).

    Raises:
        ListenAddressInvalid: `listen` is malformed.
        OSError: the address cannot be bound.
    """
    check_listen(listen)
    config = Config()
    config.bind = [listen]
    config.accesslog = None
    config.graceful_timeout = GRACEFUL_SECONDS
    config.websocket_ping_interval = None
    context = app.state.edge
    assert isinstance(context, ApiContext)
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            partial(
                serve_front_door,
                app,
                config,
                upgrade_path=f"{PREFIX}/systems/control",
                upgrade=partial(control.serve_control_stream, context),
                shutdown=shutdown,
                ssl_context=ssl_context,
            )
        )
        task_status.started(binds)
