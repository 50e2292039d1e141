"""Serve an ASGI app (FastAPI) on a real loopback socket with hypercorn's trio worker, for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


@asynccontextmanager
async def serve_asgi(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run `app` until the block ends; yields its base URL, e.g. `http://127.0.0.1:41234`.

    Port 0 (the default) lets the kernel pick a free port as the socket is bound, so
    there is no window for another process to take it; hypercorn reports the port.
    Lifespan events run, so an app's startup and shutdown handlers are exercised too.

    Example:

        async with serve_asgi(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/auth/authority")).status_code == 200
    """
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, app, config, shutdown_trigger=stop.wait))
        try:
            yield binds[0]
        finally:
            stop.set()
