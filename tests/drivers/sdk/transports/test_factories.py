"""The registered factories, driven by the real ModuleRuntime against real peers on loopback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

from drivers.sdk import DelimiterTokenizer, Driver, ModuleConfig, Task
from drivers.sdk.testing import open_test_module
from drivers.sdk.transport_registry import TRANSPORT_FACTORIES, transport_factory
from drivers.sdk.transports import register_all
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.sdk.transports.http import HTTPClient
from drivers.sdk.transports.snmp import SNMPClient
from drivers.sdk.transports.ssh import SSHShellTransport
from drivers.sdk.transports.tcp import TCPTransport
from drivers.sdk.transports.udp import UDPTransport
from drivers.sdk.transports.websocket import WebSocketTransport
from tests.drivers.sdk.transports.conftest import SelfSignedCert
from tests.drivers.sdk.transports.peers import echo, serve
from tests.servers.snmpd import SNMPServer
from tests.servers.sshd import SSHServer

# Factories only build transports; nothing connects to this address.
DEVICE = "10.0.0.2"


class Echoing(Driver):
    """A line device that repeats what it is told."""

    tokenizer = DelimiterTokenizer(b"\n")

    async def received(self, data: bytes, task: Task | None) -> None:
        if task is not None:
            task.success(data.decode().strip())

    async def ask(self, text: str) -> str:
        return await self.send(f"{text}\n", timeout=5)


class EchoingTCP(Echoing):
    transport = "tcp"


class EchoingUDP(Echoing):
    transport = "udp"


class EchoingWS(Echoing):
    transport = "websocket"


class EchoingSSH(Echoing):
    transport = "ssh"


class SystemInfo(Driver):
    transport = "snmp"

    async def describe(self) -> str:
        values = await self.connection.get("1.3.6.1.2.1.1.5.0")
        return str(next(iter(values.values())))


def test_every_kind_is_registered() -> None:
    register_all()
    for kind in ("tcp", "tls", "udp", "websocket", "http", "ssh", "snmp"):
        assert kind in TRANSPORT_FACTORIES


def module(**fields: Any) -> ModuleConfig:
    return ModuleConfig(id="mod-1", **fields)


@pytest.mark.parametrize(
    ("kind", "config", "expected"),
    [
        ("tcp", module(ip=DEVICE, port=23), TCPTransport),
        ("tls", module(ip=DEVICE, port=443, settings={"tls_verify": True}), TCPTransport),
        ("udp", module(ip=DEVICE, port=9), UDPTransport),
        ("websocket", module(uri="wss://d/api", settings={"headers": {"a": "b"}}), WebSocketTransport),
        ("http", module(ip=DEVICE, port=80, settings={"basic_auth": {"username": "u"}}), HTTPClient),
        ("ssh", module(ip=DEVICE, settings={"ssh": {"username": "admin"}}), SSHShellTransport),
        ("snmp", module(ip=DEVICE, settings={"snmp": {"version": "3", "user": "u"}}), SNMPClient),
    ],
)
def test_factories_build_from_module_config(kind: str, config: ModuleConfig, expected: type) -> None:
    assert isinstance(transport_factory(kind)(config), expected)


def test_a_missing_port_is_named() -> None:
    with pytest.raises(ValueError, match="no port"):
        transport_factory("tcp")(ModuleConfig(id="mod-1", ip=DEVICE))


async def test_runtime_over_tcp(nursery: trio.Nursery) -> None:
    port = await serve(nursery, echo)
    async with open_test_module(EchoingTCP, ip="127.0.0.1", port=port) as module:
        assert await module.exec("ask", "hello") == "hello"


async def test_runtime_over_tls(nursery: trio.Nursery, self_signed_cert: SelfSignedCert) -> None:
    port = await serve(nursery, echo, self_signed_cert.server_context())
    async with open_test_module(EchoingTCP, ip="127.0.0.1", port=port, tls=True) as module:
        assert await module.exec("ask", "secret") == "secret"


async def test_runtime_over_udp(nursery: trio.Nursery) -> None:
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        await sock.bind(("127.0.0.1", 0))

        async def udp_echo() -> None:
            while True:
                data, address = await sock.recvfrom(65535)
                await sock.sendto(data, address)

        nursery.start_soon(udp_echo)
        async with open_test_module(EchoingUDP, ip="127.0.0.1", port=sock.getsockname()[1]) as module:
            assert await module.exec("ask", "datagram") == "datagram"


async def test_runtime_over_websocket(nursery: trio.Nursery) -> None:
    async def ws_echo(request: WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            while True:
                await ws.send_message(await ws.get_message())
        except ConnectionClosed:
            pass

    server = await nursery.start(partial(serve_websocket, ws_echo, "127.0.0.1", 0, None))
    uri = f"ws://127.0.0.1:{server.port}/"
    registered = transport_factory("websocket")  # the harness uses it only when given ip/port
    async with open_test_module(EchoingWS, uri=uri, transport=registered) as module:
        assert await module.exec("ask", "frame") == "frame"


@pytest.fixture
async def aio() -> AsyncIterator[None]:
    async with open_asyncio_loop():
        yield


async def test_runtime_over_ssh(make_sshd: Callable[..., SSHServer], aio: None) -> None:
    server = make_sshd(force_command="cat")
    settings: dict[str, Any] = {
        "ssh": {
            "username": server.username,
            "keys": [str(server.client_key)],
            "known_hosts": str(server.known_hosts),
            "pty": False,
        }
    }
    async with open_test_module(EchoingSSH, ip=server.host, port=server.port, settings=settings) as module:
        assert await module.exec("ask", "over ssh") == "over ssh"


async def test_runtime_over_snmp(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server(extra_lines=["sysName transom-ups-1"])
    settings = {"snmp": {"version": "2c", "community": server.community}}
    async with open_test_module(SystemInfo, ip=server.host, port=server.port, settings=settings) as module:
        assert await module.exec("describe") == "transom-ups-1"
