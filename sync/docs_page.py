"""The API's interactive docs (Swagger UI) served from the installed package, never a CDN.

A site network often has no internet: a docs page that loads its scripts from a public CDN
is blank there. `swagger-ui-bundle` ships Swagger UI's files inside the Python package;
they are served under `<prefix>/docs/static/`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path


def install_docs_page(app: FastAPI, *, docs_url: str, openapi_url: str, title: str) -> None:
    """Serve Swagger UI at `docs_url` for the document at `openapi_url`, with local assets."""
    static = f"{docs_url}/static"
    app.mount(static, StaticFiles(directory=swagger_ui_path), name="swagger_ui_static")

    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title}: API docs",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    app.add_route(docs_url, docs, methods=["GET"], include_in_schema=False)
