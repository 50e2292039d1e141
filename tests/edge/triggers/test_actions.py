"""Trigger actions against real servers on loopback: e-mail through aiosmtpd (STARTTLS with login,
and implicit TLS, with certificates checked) and outgoing webhooks with retries and timeouts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from edge.config.loader import build_site_config
from edge.config.site import SiteConfig
from edge.triggers.actions import ActionRunner
from sync.triggers import Firing
from tests.asgi_server import serve_asgi
from tests.tls_certs import write_self_signed

ROOT = Path(__file__).resolve().parents[3]
FIRING = Firing("trig-1", "trigger-1", "sys-1", 7, 1_800_000_000.0, {"webhook": True}, "webhook")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def smtp_server(tmp_path: Path, *, implicit_tls: bool) -> AsyncIterator[tuple[Inbox, int, str]]:
    """aiosmtpd in a process of its own (`_smtp_server.py`); its inbox, port and CA certificate."""
    cert, key = write_self_signed(tmp_path)
    inbox = Inbox(tmp_path / "inbox.jsonl")
    port = _free_port()
    mode = "tls" if implicit_tls else "starttls"
    command = [
        sys.executable,
        "-m",
        "tests.edge.triggers._smtp_server",
        str(port),
        str(cert),
        str(key),
        mode,
        str(inbox.path),
    ]
    async with trio.open_nursery() as nursery:
        process = await nursery.start(
            partial(trio.run_process, command, stdout=subprocess.PIPE, check=False, cwd=ROOT)
        )
        try:
            assert process.stdout is not None
            with trio.fail_after(30):
                assert b"ready" in await process.stdout.receive_some()
            yield inbox, port, cert.read_text()
        finally:
            process.kill()


class Inbox:
    """What the server process wrote: (from, to, message) per message."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def messages(self) -> list[tuple[str, list[str], str]]:
        if not self.path.exists():
            return []
        return [tuple(json.loads(line)) for line in self.path.read_text().splitlines()]  # type: ignore[misc]


def _site(smtp: dict[str, Any]) -> SiteConfig:
    return build_site_config(
        {
            "systems": [{"id": "sys-1", "name": "Room"}],
            "settings": [{"parent_id": "sys-1", "settings": {"smtp": smtp}}],
        }
    )


async def _never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("no function calls here")


MAILERS = {
    "actions": {
        "mailers": [{"emails": ["ops@example.com", "fm@example.com"], "content": "#$count at $fired_at"}]
    }
}


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_mail_through_a_real_smtp_server_over_tls(tmp_path: Path, security: str) -> None:
    async with smtp_server(tmp_path, implicit_tls=security == "tls") as (inbox, port, ca):
        site = _site(
            {
                "host": "localhost",
                "port": port,
                "security": security,
                "username": "alerts",
                "password": "pa55",
                "from": "alerts@example.com",
                "ca_cert": ca,
            }
        )
        runner = ActionRunner(_never)
        outcomes = await runner.run(FIRING, {"name": "Too hot", **MAILERS}, site)
        await runner.aclose()
    assert outcomes == [{"action": "mailers", "ok": True}]
    assert [(sender, to) for sender, to, _ in inbox.messages] == [
        ("alerts@example.com", ["ops@example.com"]),
        ("alerts@example.com", ["fm@example.com"]),
    ]
    body = inbox.messages[0][2]
    assert "Subject: Too hot" in body and "#7 at 2027-01-15T08:00:00+00:00" in body


async def test_mail_failures_are_outcomes_not_exceptions(tmp_path: Path) -> None:
    async with smtp_server(tmp_path, implicit_tls=False) as (inbox, port, _ca):
        runner = ActionRunner(_never)
        base = {"host": "localhost", "port": port, "username": "alerts", "password": "pa55"}
        untrusted = await runner.run(
            FIRING, {"name": "T", **MAILERS}, _site(base)
        )  # no CA: the certificate fails
        unconfigured = await runner.run(
            FIRING, {"name": "T", **MAILERS}, build_site_config({"systems": [{"id": "sys-1", "name": "R"}]})
        )
        await runner.aclose()
    assert inbox.messages == []
    assert untrusted[0]["ok"] is False and "CERTIFICATE_VERIFY_FAILED" in untrusted[0]["error"]
    assert unconfigured[0]["ok"] is False and "no `smtp` setting" in unconfigured[0]["error"]


async def test_outgoing_webhooks_retry_time_out_and_render_their_body() -> None:
    received: list[tuple[str, str, str]] = []
    failures = {"flaky": 2}

    async def hook(request: Request) -> PlainTextResponse:
        name = request.path_params["name"]
        received.append((request.method, name, (await request.body()).decode()))
        if name == "slow":
            await trio.sleep(5)
        if failures.get(name, 0) > 0:
            failures[name] -= 1
            return PlainTextResponse("busy", status_code=503)
        if name == "gone":
            return PlainTextResponse("no", status_code=404)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/{name}", hook, methods=["POST", "PUT"])])
    async with serve_asgi(app) as base:
        trigger = {
            "name": "T",
            "actions": {
                "webhooks": [
                    {
                        "method": "PUT",
                        "url": f"{base}/flaky",
                        "body": '{"n": $count, "sys": "$system_id"}',
                        "retries": 2,
                    },
                    {"url": f"{base}/slow", "timeout": 0.2, "retries": 0},
                    {"url": f"{base}/gone"},
                ]
            },
        }
        runner = ActionRunner(_never)
        outcomes = await runner.run(FIRING, trigger, build_site_config({}))
        await runner.aclose()
    assert outcomes[0] == {"action": "webhooks.0", "ok": True, "result": {"status": 200, "attempts": 3}}
    assert [r for r in received if r[1] == "flaky"] == [("PUT", "flaky", '{"n": 7, "sys": "sys-1"}')] * 3
    assert outcomes[1]["ok"] is False and "ReadTimeout" in outcomes[1]["error"]
    assert outcomes[2]["ok"] is False and "answered 404" in outcomes[2]["error"]
