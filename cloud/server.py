"""serve_cloud: the cloud tier in one process (store, auth, API) served by hypercorn's trio worker."""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from cloud.auth.bootstrap import start_auth
from cloud.auth.keys import SECRET_FILE_NAME, load_or_create_secret
from cloud.auth.oauth_apps import console_redirect_uri
from cloud.data_dir import STORE_FILE_NAME
from cloud.edges.enrolment import EnrolmentService
from cloud.edges.enrolment_routes import mount_enrolment
from cloud.edges.hub import EXEC_TIMEOUT, EdgeHub
from cloud.edges.routes import mount_edge_link
from cloud.edges.session import DEAD_AFTER
from cloud.forwarded import ForwardedHeaders, parse_trusted
from cloud.search.factory import open_search
from cloud.search.indexer import serve_indexer
from cloud.store.factory import open_store
from cloud.www import FrontEnd, check_public_url, find_front_ends, front_end_apps, front_end_routes
from sync.listen import check_listen
from sync.model import SettingsCipher
from sync.tls import TlsOptionsInvalid, check_tls

__all__ = ["TlsOptionsInvalid", "serve_cloud"]  # TlsOptionsInvalid: raised by serve_cloud

# What edges sent up (status, events, node health): cloud.edges.db.
EDGES_FILE_NAME = "edges.db"
# Seconds open requests and WebSockets get to finish when the server is asked to stop.
GRACEFUL_SECONDS = 5.0
# WebSocket liveness (control sessions and edge links): hypercorn pings every open WebSocket
# this often, and closes any connection that sends nothing (not even the pong) for
# SILENT_SECONDS, so a frozen or vanished client's session ends instead of holding its
# bindings. The deadline covers every connection, and an HTTP client waiting for an exec's
# answer sends nothing while it waits: so it is the longest exec wait plus the edge link's own
# silence deadline, never cutting off a caller before it is told how its exec went.
PING_SECONDS = 5.0
SILENT_SECONDS = EXEC_TIMEOUT + DEAD_AFTER

log = logging.getLogger(__name__)


async def serve_cloud(
    *,
    data_dir: str | Path,
    listen: str,
    store_url: str | None = None,
    search_engine: str | None = None,
    admin_password: str | None = None,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
    www: str | Path | None = None,
    public_urls: Sequence[str] = (),
    trust_proxies: Sequence[str] = (),
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the cloud API until SIGINT or SIGTERM (or cancellation), then stop cleanly.

    Args:
        data_dir: holds the SQLite store (unless `store_url` names another), the auth
            secret and auth's bookkeeping; created if missing.
        listen: HOST:PORT to bind (port 0: any free port).
        store_url: the config store's URL (default: `<data_dir>/store.db`).
        search_engine: `--search`: fts5 (default), postgresql, or an Elasticsearch URL
            (cloud/search/factory.py).
        admin_password: the first admin's password, needed only on a store with no users.
        tls_cert, tls_key: PEM certificate (chain) and private key files: serve HTTPS and WSS.
        www: a directory whose sub-folders are static front ends, each served at its own
            path with its OAuth app registered for each public origin (cloud/www.py).
        public_urls: the origins browsers use to reach the cloud (a proxy's, a TLS
            terminator's); default: the bound address. The first names the first authority.
        trust_proxies: addresses or networks whose X-Forwarded-* headers are believed
            (cloud/forwarded.py); none by default.

    Raises:
        ListenAddressInvalid: `listen` is malformed.
        TlsOptionsInvalid: only one of the TLS files given, or one cannot be read.
        WwwInvalid: `www` or a public URL cannot be served.
        TrustedProxyInvalid: a `trust_proxies` value is not an address or network.
        FirstAdminPasswordMissing: the store has no users and no password was given.
        StoreError, ValueError: the store cannot be opened.
        SearchError, ValueError: the search engine cannot be opened.

    task_status.started() gets the bound URLs, e.g. ["http://127.0.0.1:8080"].
    """
    check_listen(listen)
    check_tls(tls_cert, tls_key)
    origins = [check_public_url(url) for url in public_urls]
    trusted = parse_trusted(trust_proxies)
    front_ends = await trio.to_thread.run_sync(find_front_ends, www) if www else []
    directory = Path(data_dir)
    await trio.Path(directory).mkdir(parents=True, exist_ok=True)
    store = await open_store(store_url or str(directory / STORE_FILE_NAME))
    try:
        search = await open_search(search_engine, data_dir=directory, store=store)
    except BaseException:
        await store.aclose()
        raise
    async with store, search:
        scheme = "https" if tls_cert else "http"
        origin = origins[0] if origins else None if listen.endswith(":0") else f"{scheme}://{listen}"
        auth = await start_auth(
            store,
            directory,
            admin_password=admin_password,
            public_origin=origin,
            front_end_apps=oauth_apps_for(front_ends, origins),
        )
        try:
            secret = await trio.to_thread.run_sync(load_or_create_secret, directory / SECRET_FILE_NAME)
            router, bus, cipher = CallableModuleRouter(), InMemoryStatusBus(), SettingsCipher(secret)
            app = create_app(
                store=store,
                auth=auth,
                modules=router,
                status=bus,
                search=search,
                cipher=cipher,
                node_uri=f"http://{listen}",
            )
            # The edge link: edges dial in here; exec for their modules goes down it.
            hub = EdgeHub(store, auth, bus, path=directory / EDGES_FILE_NAME, cipher=cipher)
            mount_edge_link(app, hub)
            hub.install(router)
            # One-time tokens a new node exchanges for its own key (enrolment.db in the data dir).
            enrolment = EnrolmentService.open(store, auth, directory)
            mount_enrolment(app, enrolment)
            hub.node_keys = enrolment.edge_of_key
            app.router.routes.extend(front_end_routes(front_ends))
            if trusted:
                app.add_middleware(ForwardedHeaders, trusted=trusted)
            config = Config()
            config.bind = [listen]
            config.accesslog = None
            config.graceful_timeout = GRACEFUL_SECONDS
            config.websocket_ping_interval = PING_SECONDS
            config.read_timeout = int(SILENT_SECONDS)
            if tls_cert and tls_key:
                config.certfile, config.keyfile = str(tls_cert), str(tls_key)
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_stop_on_signal, stop)
                # The index follows the store's changefeed, resuming from its last revision.
                await nursery.start(serve_indexer, store, search)
                await nursery.start(hub.serve)
                asgi: Any = app  # hypercorn's ASGI type is narrower than Starlette's
                binds = await nursery.start(partial(serve, asgi, config, shutdown_trigger=stop.wait))
                if not origins:  # the front ends' apps for the address just bound (known only now)
                    for name, redirect_uri in oauth_apps_for(front_ends, binds):
                        await auth.apps.ensure(name, redirect_uri)
                task_status.started(binds)
                with _serving_gc():
                    await stop.wait()
                # serve() returns once its connections close; the indexer and edge hub are all that is left.
                nursery.cancel_scope.cancel()
            await enrolment.aclose()
            log.info("cloud API stopped")
        finally:
            await auth.aclose()


@contextmanager
def _serving_gc() -> Iterator[None]:
    """Freeze what start-up made (modules, app, models: never garbage); thresholds stay default.

    Frozen objects are left out of every collection, so a full one scans only what serving
    made. Undone on the way out (tests run serve_cloud inside their own process).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def oauth_apps_for(front_ends: list[FrontEnd], origins: Sequence[str]) -> list[tuple[str, str]]:
    """(name, redirect URI) of the OAuth apps to register: Transom's console at `/` of each
    origin, and each served front end (`--www`) there."""
    console = [("Transom console", console_redirect_uri(origin)) for origin in origins]
    return console + front_end_apps(front_ends, origins)


async def _stop_on_signal(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s; stopping", signal.Signals(signum).name)
            stop.set()
            return
