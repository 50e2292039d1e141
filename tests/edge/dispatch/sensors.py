"""Devices that send to the platform (dispatch's inbound ports): what reaches received_inbound becomes status.

The ports are free ones chosen once per test run and kept in the environment, so the driver
host processes the node starts see the same declaration as the node itself.
"""

from __future__ import annotations

import base64
import os
import socket
from typing import Any, ClassVar

from drivers.sdk import Driver
from tests.servers.ports import free_port


def _port(name: str, kind: socket.SocketKind) -> int:
    return int(os.environ.setdefault(name, str(free_port(kind))))


UDP_PORT = _port("TRANSOM_TEST_SENSOR_UDP_PORT", socket.SOCK_DGRAM)
TCP_PORT = _port("TRANSOM_TEST_SENSOR_TCP_PORT", socket.SOCK_STREAM)


class _Sensor(Driver):
    transport = "logic"

    async def received_inbound(self, data: str, source: str) -> None:
        self["last"] = base64.b64decode(data).decode("latin-1")  # bytes as they came
        self["source"] = source
        self["count"] = (self.get("count") or 0) + 1


class UdpSensor(_Sensor):
    inbound: ClassVar[Any] = ("udp", UDP_PORT)


class TcpSensor(_Sensor):
    inbound: ClassVar[Any] = ("tcp", TCP_PORT)
