"""SNMPClient against a REAL Net-SNMP snmpd on a free loopback UDP port."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import AsyncIterator, Callable

import pytest
import trio
from pysnmp.proto import rfc1902

from drivers.sdk.errors import CommandTimeoutError, ConnectionLostError, DeviceError
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.sdk.transports.snmp import SNMPClient, to_python
from tests.servers.ports import free_port
from tests.servers.snmpd import SNMPServer

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYSTEM = "1.3.6.1.2.1.1"


@pytest.fixture
async def aio() -> AsyncIterator[None]:
    """The asyncio loop pysnmp runs on (pytest-trio ignores autouse async fixtures)."""
    async with open_asyncio_loop():
        yield


def v3(server: SNMPServer, **changes: str) -> SNMPClient:
    credentials = {"user": server.user, "auth_key": server.auth_key, "priv_key": server.priv_key}
    credentials.update(changes)
    return SNMPClient(server.host, server.port, version="3", timeout=0.5, retries=0, **credentials)


async def test_v2c_get_several_oids(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    async with SNMPClient(server.host, server.port, community=server.community) as snmp:
        values = await snmp.get(SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME)
    assert isinstance(values[SYS_DESCR], str) and values[SYS_DESCR]
    assert values[SYS_OBJECT_ID] == "1.3.6.1.4.1.8072.3.2.10"  # Net-SNMP on Linux
    assert isinstance(values[SYS_UPTIME], int)


async def test_v2c_set_then_get(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    client = SNMPClient(server.host, server.port, write_community=server.write_community)
    async with client as snmp:
        assert await snmp.set(SYS_CONTACT, "ops@example.org") == "ops@example.org"
        assert await snmp.get(SYS_CONTACT) == {SYS_CONTACT: "ops@example.org"}


async def test_read_only_community_cannot_set(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    async with SNMPClient(server.host, server.port, community=server.community) as snmp:
        with pytest.raises(DeviceError, match=r"noAccess|notWritable|authorizationError"):
            await snmp.set(SYS_CONTACT, "nobody")


async def test_v2c_walk(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    async with SNMPClient(server.host, server.port) as snmp:
        rows = await snmp.walk(SYSTEM)
    oids = [oid for oid, _ in rows]
    assert oids[:3] == [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME]
    assert all(oid.startswith(SYSTEM + ".") for oid in oids)


async def test_v3_auth_priv_get_set_walk(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    async with v3(server) as snmp:
        assert (await snmp.get(SYS_OBJECT_ID))[SYS_OBJECT_ID] == "1.3.6.1.4.1.8072.3.2.10"
        assert await snmp.set(SYS_CONTACT, b"noc") == "noc"
        assert (SYS_CONTACT, "noc") in await snmp.walk(SYSTEM)


async def test_v3_wrong_key_is_a_device_error(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    async with v3(server, auth_key="not-the-right-key") as snmp:
        with pytest.raises((DeviceError, CommandTimeoutError)):
            await snmp.get(SYS_DESCR)


async def test_no_such_object_is_a_device_error(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    async with SNMPClient(server.host, server.port) as snmp:
        with pytest.raises(DeviceError, match="NoSuch"):
            await snmp.get("1.3.6.1.4.1.99999.1.0")
        assert await snmp.walk("1.3.6.1.4.1.99999") == []


async def test_nothing_listening_is_a_command_timeout(aio: None) -> None:
    async with SNMPClient("127.0.0.1", free_port(socket.SOCK_DGRAM), timeout=0.2, retries=1) as snmp:
        with pytest.raises(CommandTimeoutError), trio.fail_after(5):
            await snmp.get(SYS_DESCR)


async def test_closing_the_client_ends_a_request_in_flight(aio: None) -> None:
    """A module rebuilding its client (new settings) closes the old one mid-request: the
    request ends as a lost connection at once, not never (pysnmp's future would wait forever)."""
    silent = free_port(socket.SOCK_DGRAM)
    async with SNMPClient("127.0.0.1", silent, timeout=30.0, retries=0) as snmp:
        ended: list[BaseException] = []

        async def request() -> None:
            try:
                await snmp.get(SYS_DESCR)
            except ConnectionLostError as exc:
                ended.append(exc)

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(request)
                await trio.sleep(0.2)
                await snmp.aclose()
        assert len(ended) == 1


async def test_agent_stops_mid_session(snmpd_server: Callable[..., SNMPServer], aio: None) -> None:
    server = snmpd_server()
    async with SNMPClient(server.host, server.port, timeout=0.2, retries=0) as snmp:
        assert await snmp.get(SYS_DESCR)
        pid = int((server.config.parent / "snmpd.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(CommandTimeoutError):
            await snmp.get(SYS_DESCR)


async def test_garbage_reply_does_not_crash(aio: None) -> None:
    """A UDP peer that answers every request with bytes that are not SNMP."""
    with trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

        async def babble() -> None:
            while True:
                _, address = await sock.recvfrom(65535)
                await sock.sendto(b"\x30\x03\x02\x01" + bytes(range(256)), address)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(babble)
            async with SNMPClient("127.0.0.1", port, timeout=0.2, retries=0) as snmp:
                with pytest.raises(CommandTimeoutError):
                    await snmp.get(SYS_DESCR)
            nursery.cancel_scope.cancel()


def test_values_become_plain_python() -> None:
    assert to_python(rfc1902.Counter64(2**40)) == 2**40
    assert to_python(rfc1902.TimeTicks(123)) == 123
    assert to_python(rfc1902.OctetString(b"On Battery")) == "On Battery"
    assert to_python(rfc1902.OctetString(b"\x00\x1b\xff")) == b"\x00\x1b\xff"
    assert to_python(rfc1902.IpAddress("10.0.0.9")) == "10.0.0.9"
    assert to_python(rfc1902.ObjectIdentifier("1.3.6.1.4.1.318")) == "1.3.6.1.4.1.318"
