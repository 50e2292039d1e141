"""The console's page at `/`: its OAuth client for the origin it is opened at, under a strict CSP."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

from cloud.auth.bootstrap import start_auth
from cloud.auth.oauth_apps import console_redirect_uri
from cloud.server import oauth_apps_for
from cloud.store.sqlite import SQLiteStore
from tests.cloud.api.conftest import FAST_PASSWORDS, open_api


def _meta(html: str, name: str) -> str:
    found = re.search(rf'<meta name="{name}" content="([^"]*)">', html)
    assert found is not None, name
    return found[1]


async def test_the_console_page_names_its_client_and_whether_it_is_registered(tmp_path: Path) -> None:
    async with open_api(tmp_path) as api, httpx.AsyncClient(base_url=api.base_url) as browser:
        page = await browser.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        redirect = _meta(page.text, "transom-redirect-uri")
        assert redirect == f"{api.base_url}/"
        assert _meta(page.text, "transom-client-id") == hashlib.md5(redirect.encode()).hexdigest()
        assert _meta(page.text, "transom-registered") == "no"  # nothing registered for this origin yet

        await api.auth.apps.ensure("Transom console", console_redirect_uri(api.base_url))
        page = await browser.get("/")
        assert _meta(page.text, "transom-registered") == "yes"
        # A Host header cannot inject markup into the page: facts are escaped.
        odd = await browser.get("/", headers={"host": 'x"><script>alert(1)</script>'})
        assert "<script>alert(1)" not in odd.text

        for asset in ("/console/console.js", "/ui/transom.css", "/ui/control.js"):
            assert (await browser.get(asset)).status_code == 200, asset
        assert (await browser.get("/backoffice/")).status_code == 404  # left to PlaceOS's Backoffice


async def test_start_registers_the_console_for_each_public_origin(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "store.db")
    try:
        origins = ["https://t.example", "https://panel.t.example:8443"]
        auth = await start_auth(
            store,
            tmp_path,
            admin_password="first-pw-1",
            public_origin=origins[0],
            front_end_apps=oauth_apps_for([], origins),
            passwords=FAST_PASSWORDS,
        )
        try:
            for origin in origins:
                app = await auth.apps.get(hashlib.md5(f"{origin}/".encode()).hexdigest())
                assert app is not None and app["redirect_uri"] == f"{origin}/"
            # PlaceOS Backoffice is registered only where it is served (`--www`).
            backoffice = hashlib.md5(b"https://t.example/backoffice/oauth-resp.html").hexdigest()
            assert await auth.apps.get(backoffice) is None
        finally:
            await auth.aclose()
    finally:
        await store.aclose()
