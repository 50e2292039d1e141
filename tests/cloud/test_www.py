"""`transom cloud run --www`: front ends served beside the API, their OAuth apps, and trusted proxies."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cloud.server import serve_cloud
from cloud.www import IMMUTABLE, WwwInvalid, check_public_url, find_front_ends, is_hashed

PASSWORD = "correct horse battery staple"
INDEX = "<!doctype html><title>Backoffice</title>"
BUNDLE = "console.log('main');"


def _www(tmp_path: Path) -> Path:
    www = tmp_path / "www"
    app = www / "backoffice"
    (app / "assets").mkdir(parents=True)
    (app / "index.html").write_text(INDEX)
    (app / "oauth-resp.html").write_text("<p>code</p>")
    (app / "main.3f2a9c1e0b7d4a11.js").write_text(BUNDLE)
    (app / "assets" / "logo.svg").write_text("<svg/>")
    (www / "control").mkdir()
    (www / "control" / "index.html").write_text("<title>Control</title>")
    (www / "notes").mkdir()  # no index.html: not a front end
    (www / ".git").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secret.txt").write_text("do not serve")
    (app / "escape").symlink_to(tmp_path / "data")
    return www


@asynccontextmanager
async def _cloud(tmp_path: Path, **options: Any) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        serve = partial(
            serve_cloud, data_dir=tmp_path / "cloud", listen="127.0.0.1:0", admin_password=PASSWORD, **options
        )
        binds = await nursery.start(serve)
        yield binds[0]
        nursery.cancel_scope.cancel()


async def _raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (httpx would normalise the dots and escapes away)."""
    host = url.removeprefix("http://")
    hostname, port = host.rsplit(":", 1)
    async with await trio.open_tcp_stream(hostname, int(port)) as stream:
        await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        with trio.fail_after(20):
            while data := await stream.receive_some(65536):
                received += data
    return int(received.split(b" ", 2)[1]), received


async def _token_for(client: httpx.AsyncClient, redirect_uri: str) -> httpx.Response:
    client_id = hashlib.md5(redirect_uri.encode()).hexdigest()
    params = {"grant_type": "password", "username": "admin", "password": PASSWORD, "client_id": client_id}
    return await client.post("/auth/oauth/token", params=params)


async def test_front_ends_are_served_with_placeos_ingress_caching(tmp_path: Path) -> None:
    async with _cloud(tmp_path, www=_www(tmp_path)) as url, httpx.AsyncClient(base_url=url) as client:
        index = await client.get("/backoffice/")
        assert index.status_code == 200 and index.text == INDEX
        assert index.headers["cache-control"] == "no-cache" and index.headers["content-type"].startswith(
            "text/html"
        )
        again = await client.get("/backoffice/", headers={"If-None-Match": index.headers["etag"]})
        assert again.status_code == 304 and again.content == b""

        bundle = await client.get("/backoffice/main.3f2a9c1e0b7d4a11.js")
        assert bundle.text == BUNDLE and bundle.headers["cache-control"] == IMMUTABLE
        assert "javascript" in bundle.headers["content-type"]
        logo = await client.get("/backoffice/assets/logo.svg")
        assert logo.headers["cache-control"] == "no-cache" and logo.headers["content-type"] == "image/svg+xml"

        head = await client.head("/backoffice/main.3f2a9c1e0b7d4a11.js")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(BUNDLE))

        # A client-side route falls back to the folder's page; a missing asset does not.
        route = await client.get("/backoffice/systems/sys-123/about")
        assert (
            route.status_code == 200 and route.text == INDEX and route.headers["cache-control"] == "no-cache"
        )
        assert (await client.get("/backoffice/missing.js")).status_code == 404
        moved = await client.get("/backoffice", params={"a": "1"})
        assert moved.status_code == 301 and moved.headers["location"] == "/backoffice/?a=1"
        assert (await client.get("/control/")).text == "<title>Control</title>"
        assert (await client.get("/notes/")).status_code == 404  # no index.html: not served
        assert (await client.post("/backoffice/index.html")).status_code == 405
        root = await client.get("/")  # `/` is Transom's own console, never a front end's file
        assert root.status_code == 200 and root.text not in (INDEX, "<title>Control</title>")

        # Nothing outside the folder, however the path is spelt.
        for path in (
            "/backoffice/../cloud/auth-secret.key",
            "/backoffice/%2e%2e/cloud/auth-secret.key",
            "/backoffice/..%2fcloud%2fauth-secret.key",
            "/backoffice/escape/secret.txt",
            "/backoffice/.git/config",
            "/backoffice/assets%5c..%5c..%5cindex.html",
            "/backoffice/" + "a/" * 600 + "x.js",
        ):
            status, body = await _raw_get(url, path)
            assert status in (400, 404), (path, status)
            assert b"do not serve" not in body and b"-----BEGIN" not in body

        # Each front end's OAuth app is registered for the bound address.
        for name in ("backoffice", "control"):
            assert (await _token_for(client, f"{url}/{name}/oauth-resp.html")).status_code == 200
        unknown = await _token_for(client, f"{url}/notes/oauth-resp.html")
        assert unknown.status_code == 401


async def test_public_urls_register_apps_and_only_trusted_proxies_are_believed(tmp_path: Path) -> None:
    public = ["https://transom.example.com", "http://127.0.0.1:8443"]
    www = _www(tmp_path)
    trusted = {"www": www, "public_urls": public, "trust_proxies": ["127.0.0.1"]}
    async with _cloud(tmp_path, **trusted) as url, httpx.AsyncClient(base_url=url) as client:
        for origin in public:
            assert (await _token_for(client, f"{origin}/backoffice/oauth-resp.html")).status_code == 200
        assert (await _token_for(client, f"{url}/backoffice/oauth-resp.html")).status_code == 401
        authority = (await client.get("/auth/authority")).json()
        assert authority["domain"] == "transom.example.com"
        # A login form posted from the proxy's origin: the proxy's forwarded host makes it same-origin.
        form = {"username": "admin", "password": PASSWORD, "continue": "/backoffice/"}
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "transom.example.com"}
        headers = {"Origin": "https://transom.example.com", **forwarded}
        login = await client.post("/auth/login", data=form, headers=headers)
        assert login.status_code == 302, login.text
        assert "secure" in login.headers["set-cookie"].lower()  # the browser's scheme was https
        refused = await client.post(
            "/auth/login", data=form, headers={"Origin": "https://transom.example.com"}
        )
        assert refused.status_code == 403

    # Without --trust-proxy the same headers change nothing.
    async with (
        _cloud(tmp_path, www=www, public_urls=public) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        login = await client.post("/auth/login", data=form, headers=headers)
        assert login.status_code == 403


def test_bad_www_and_public_urls_are_named(tmp_path: Path) -> None:
    with pytest.raises(WwwInvalid, match="not a directory"):
        find_front_ends(tmp_path / "nowhere")
    (tmp_path / "api").mkdir()
    with pytest.raises(WwwInvalid, match="'api'"):
        find_front_ends(tmp_path)
    (tmp_path / "api").rmdir()
    with pytest.raises(WwwInvalid, match="no sub-folder"):
        find_front_ends(tmp_path)
    for bad in ("ftp://x.example.com", "https://x.example.com/backoffice", "https://", "https://x:99999"):
        with pytest.raises(WwwInvalid):
            check_public_url(bad)
    assert check_public_url("https://Transom.Example.com/") == "https://transom.example.com"
    assert is_hashed("main.3f2a9c1e0b7d4a11.js") and is_hashed("chunk-5QJ2X7AB.js")
    assert not is_hashed("index.html") and not is_hashed("oauth-resp.html") and not is_hashed("logo.svg")
