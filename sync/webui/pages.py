"""install_pages: a side's HTML page at `/` and its assets, all from the installed package.

No CDN and no build step: the pages are static HTML with small hand-written ES modules, so
`make demo` needs no Node toolchain, a site LAN with no internet shows them, and a low-end
tablet loads them in a few tens of kilobytes. The page is filled with a few server facts
(`{{name}}` placeholders, HTML-escaped) so the script needs no second round trip to start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Where the shared assets are served on both sides.
ASSET_PATH = "/ui"

# Only our own origin: scripts, styles, fetch and the control WebSocket ('self' covers ws: and
# wss: to the same host in CSP 3). No framing by other sites (clickjacking of a room's controls).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # The page is tiny and carries server facts: never a stale copy from a cache.
    "Cache-Control": "no-store",
}

Facts = Callable[[Request], Awaitable[Mapping[str, str]]]


async def _no_facts(request: Request) -> Mapping[str, str]:
    return {}


def install_pages(
    app: FastAPI,
    *,
    page: Path,
    own_assets: Path,
    own_path: str,
    facts: Facts = _no_facts,
) -> None:
    """Serve `page` at `/`, the shared assets at ASSET_PATH and this side's at `own_path`.

    Args:
        page: the HTML file; `{{name}}` placeholders are replaced by `facts(request)`.
        own_assets: the folder of this side's scripts.
        own_path: where they are served, e.g. `/console`.
        facts: values for the placeholders, computed per request.
    """
    app.mount(ASSET_PATH, StaticFiles(directory=STATIC_DIR), name="webui_shared")
    app.mount(own_path, StaticFiles(directory=own_assets), name=f"webui{own_path.replace('/', '_')}")
    template = page.read_text()

    async def index(request: Request) -> HTMLResponse:
        html = template
        for name, value in (await facts(request)).items():
            html = html.replace("{{" + name + "}}", escape(value, quote=True))
        return HTMLResponse(html, headers=PAGE_HEADERS)

    app.add_route("/", index, methods=["GET"], include_in_schema=False)
