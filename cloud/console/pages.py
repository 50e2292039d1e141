"""The cloud console: the integrator's web UI at `/` of the cloud, a front end like any other.

It logs in through the cloud's own OAuth (authorization code with an S256 PKCE challenge,
the app registered by `cloud.auth.bootstrap` for the public origin) and then uses only the
REST API and the control WebSocket, so every error it shows is the API's own. Its scripts
are served under CONSOLE_PATH, the shared ones under /ui (`sync.webui`); `/backoffice/`
stays free for PlaceOS's Backoffice.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request

from cloud.auth.oauth_apps import client_id_for, console_redirect_uri
from sync.webui import install_pages

STATIC = Path(__file__).resolve().parent / "static"
CONSOLE_PATH = "/console"


def install_console(app: FastAPI) -> None:
    """Serve the console at `/` and its scripts under CONSOLE_PATH.

    The page carries its OAuth client id for the origin it was opened at, and whether an
    application is registered for it (if not, the page says how to register one rather
    than sending the browser to an error).
    """

    async def facts(request: Request) -> Mapping[str, str]:
        origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
        redirect_uri = console_redirect_uri(origin)
        client_id = client_id_for(redirect_uri)
        registered = await request.app.state.auth.apps.get(client_id) is not None
        return {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "registered": "yes" if registered else "no",
        }

    install_pages(app, page=STATIC / "index.html", own_assets=STATIC, own_path=CONSOLE_PATH, facts=facts)
