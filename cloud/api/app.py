"""create_app: the cloud's FastAPI application, with every router, handler and seam in place.

/auth/*                      cloud.auth.routes (OAuth2, login, authority)
/api/engine/v2/...           REST (systems, modules, drivers, zones, settings, triggers,
                             trigger_instances, users, api_keys, edges, metadata, domains,
                             oauth_apps, schema, platform and repositories, root)
/api/engine/v2/systems/control   the control WebSocket
/api/mqtt/                   MQTT over WebSocket for front ends (nothing published yet)
/api/staff/v1/tenants        the staff API's tenants (none yet; cloud.api.absent)
/api/engine/v2/openapi.json  the OpenAPI document; /api/engine/v2/docs its browser
/                            the console (cloud.console): /console/* its scripts, /ui/* shared
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from fastapi import APIRouter, FastAPI

from cloud.api import (
    absent,
    api_keys,
    domains,
    drivers,
    edges,
    json_schemas,
    metadata,
    mqtt_ws,
    oauth_apps,
    platform,
    root,
    settings,
    systems,
    triggers,
    users,
    websocket,
    zones,
)
from cloud.api import modules as module_routes
from cloud.api.changes import ChangeHub
from cloud.api.handlers import install_handlers
from cloud.api.module_seams import ModuleRouter, StatusBus
from cloud.api.openapi import install_openapi
from cloud.api.root import version_info
from cloud.api.search_seam import SearchIndex, SubstringSearch
from cloud.api.state import ApiState, ClusterNode
from cloud.api.telemetry import cloud_telemetry
from cloud.auth.routes import router as auth_router
from cloud.console.pages import install_console
from cloud.store.base import ConfigStore
from sync.docs_page import install_docs_page
from sync.model import SettingsCipher
from sync.request_body import CLOUD_LIMITS, BodyLimit

API_PREFIX = "/api/engine/v2"


def create_app(
    *,
    store: ConfigStore,
    auth: Any,
    modules: ModuleRouter,
    status: StatusBus,
    search: SearchIndex | None = None,
    cipher: SettingsCipher | None = None,
    node_uri: str = "",
) -> FastAPI:
    """Build the API around its collaborators; the caller owns (and closes) each of them.

    Args:
        store: the config store.
        auth: the AuthService (`cloud.auth.service`), also at `app.state.auth`.
        modules: how exec and debug reach modules (`cloud.api.module_seams.ModuleRouter`).
        status: where module status is read and followed (`cloud.api.module_seams.StatusBus`).
        search: the index behind `q`; without one, `q` scans the store.
        cipher: seals settings above `none` at rest; without one they are stored as given.
        node_uri: this node's address, as `/cluster` lists it.

    Returns:
        The app. Its lifespan runs the changefeed reader that keeps WebSocket bindings
        following their systems, so serve it with lifespan events (hypercorn does).
    """
    hub = ChangeHub(store)
    state = ApiState(
        store=store,
        auth=auth,
        modules=modules,
        status=status,
        search=search if search is not None else SubstringSearch(store),
        cipher=cipher,
        hub=hub,
        nodes=[ClusterNode(id="cloud-1", uri=node_uri, version=version_info()["version"])],
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.serve)
            yield
            nursery.cancel_scope.cancel()

    app = FastAPI(
        title="Transom cloud API",
        version=version_info()["version"],
        description="PlaceOS-compatible REST and WebSocket control for Transom's cloud tier.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from the package by install_docs_page, never a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.api = state
    app.state.store = store
    app.state.auth = auth
    app.state.modules = modules
    app.state.status = status
    app.state.search = state.search
    # Inside install_handlers' catch-all, so a body cut off mid-stream answers 413, not 500.
    app.add_middleware(BodyLimit, limits=CLOUD_LIMITS)
    install_handlers(app)
    cloud_telemetry(app).install(app)  # outermost: it logs what the handlers answered
    app.include_router(auth_router)
    api = APIRouter(prefix=API_PREFIX)
    for family in (
        absent,  # before platform: /repositories/interfaces
        platform,  # before root: /cluster/versions
        root,
        websocket,
        systems,
        module_routes,
        zones,
        drivers,
        settings,
        triggers,
        users,
        api_keys,
        edges,
        metadata,
        domains,
        oauth_apps,
        json_schemas,
    ):
        api.include_router(family.router)
    app.include_router(api)
    app.include_router(absent.staff_router)
    app.include_router(mqtt_ws.router)
    install_openapi(app, websocket_path=f"{API_PREFIX}/systems/control")
    install_docs_page(
        app, docs_url=f"{API_PREFIX}/docs", openapi_url=f"{API_PREFIX}/openapi.json", title=app.title
    )
    install_console(app)
    return app
