"""WebSocket `/api/mqtt/`: the MQTT endpoint PlaceOS's front ends open, with nothing to publish yet.

PlaceOS's ingress passes `/api/mqtt/` to its MQTT broker (Mosquitto), where Backoffice's
alerts dashboard subscribes to `placeos/<org>/state/...` with the user's token as MQTT
username and password (mqtt.js 4, MQTT 3.1.1 over WebSocket, subprotocol `mqtt`). Refused
or unanswered, mqtt.js reconnects every second on every page, forever. Transom publishes
no alerts over MQTT yet, so this endpoint is a broker with no messages: it checks the
token where the connection lands (CONNACK 0, or 5 "not authorized" and close), grants
subscriptions (QoS 0), answers pings, and never publishes.

Only the packets a subscriber sends are understood (CONNECT, SUBSCRIBE, UNSUBSCRIBE,
PINGREQ, DISCONNECT; a QoS 0 PUBLISH is dropped); anything else, a packet larger than
MAX_PACKET, no CONNECT within CONNECT_DEADLINE or silence past 1.5x the keep-alive ends
the connection. MQTT 3.1.1 (OASIS), sections 2.2 (fixed header) and 3.1-3.14.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass

import trio
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from cloud.auth.dependencies import auth_service
from cloud.auth.errors import AuthError
from sync.credentials import is_edge_credential, split_api_key

router = APIRouter(tags=["mqtt"])
log = logging.getLogger(__name__)

# A subscriber's packets are small: a CONNECT with a JWT, a SUBSCRIBE with a few filters.
MAX_PACKET = 64 * 1024
# Seconds a new connection has to send its CONNECT.
CONNECT_DEADLINE = 10.0
# Keep-alive when the client asks for none (0): still close a connection silent this long.
IDLE_LIMIT = 300.0

CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT = 1, 3, 8, 10, 12, 14
CONNACK_ACCEPTED, CONNACK_BAD_PROTOCOL, CONNACK_NOT_AUTHORIZED = 0, 1, 5


class MqttProtocolError(Exception):
    """Raised for bytes that are not the MQTT a subscriber sends; the connection is closed."""


def _remaining_length(buffer: bytes) -> tuple[int, int] | None:
    """(length, header size) of the packet at the start of `buffer`, or None if incomplete."""
    value, multiplier = 0, 1
    for index in range(1, min(len(buffer), 5)):
        byte = buffer[index]
        value += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            return value, index + 1
        multiplier *= 128
    if len(buffer) >= 5:
        raise MqttProtocolError("a remaining length longer than 4 bytes")
    return None


def split_packets(buffer: bytes) -> tuple[list[tuple[int, int, bytes]], bytes]:
    """The whole packets at the start of `buffer` as (type, flags, body), and the rest.

    Raises:
        MqttProtocolError: a malformed or oversized packet.
    """
    packets: list[tuple[int, int, bytes]] = []
    while buffer:
        found = _remaining_length(buffer)
        if found is None:
            break
        length, header = found
        if length > MAX_PACKET:
            raise MqttProtocolError(f"a {length}-byte packet (the limit is {MAX_PACKET})")
        if len(buffer) < header + length:
            break
        packets.append((buffer[0] >> 4, buffer[0] & 0x0F, buffer[header : header + length]))
        buffer = buffer[header + length :]
    if len(buffer) > MAX_PACKET + 5:
        raise MqttProtocolError("too much data without a whole packet")
    return packets, buffer


def _string(body: bytes, at: int) -> tuple[bytes, int]:
    if at + 2 > len(body):
        raise MqttProtocolError("a string runs past the packet")
    size = int.from_bytes(body[at : at + 2], "big")
    if at + 2 + size > len(body):
        raise MqttProtocolError("a string runs past the packet")
    return body[at + 2 : at + 2 + size], at + 2 + size


@dataclass(frozen=True)
class Connect:
    """What a CONNECT packet says: protocol level (4 = 3.1.1), keep-alive seconds, credentials."""

    level: int
    keep_alive: int
    username: str
    password: str


def parse_connect(body: bytes) -> Connect:
    """The CONNECT packet with this body (3.1.1 section 3.1).

    Raises:
        MqttProtocolError: not a CONNECT body.
    """
    name, at = _string(body, 0)
    if name not in (b"MQTT", b"MQIsdp") or at + 4 > len(body):
        raise MqttProtocolError("not an MQTT CONNECT")
    level, flags = body[at], body[at + 1]
    keep_alive = int.from_bytes(body[at + 2 : at + 4], "big")
    _, at = _string(body, at + 4)  # client id
    if flags & 0x04:  # will topic and message
        _, at = _string(body, at)
        _, at = _string(body, at)
    username = password = b""
    if flags & 0x80:
        username, at = _string(body, at)
    if flags & 0x40:
        password, at = _string(body, at)
    return Connect(
        level, keep_alive, username.decode("utf-8", "replace"), password.decode("utf-8", "replace")
    )


def _topics(body: bytes, with_qos: bool) -> tuple[bytes, int]:
    """The packet id and how many topic filters a (UN)SUBSCRIBE body holds."""
    if len(body) < 2:
        raise MqttProtocolError("a subscription without a packet id")
    at, count = 2, 0
    while at < len(body):
        _, at = _string(body, at)
        at += 1 if with_qos else 0
        count += 1
    if at != len(body) or not count:
        raise MqttProtocolError("a malformed subscription")
    return body[:2], count


async def _authorized(websocket: WebSocket, username: str, password: str) -> bool:
    """Whether the CONNECT's token (a JWT or an API key, as username or password) is good now."""
    token = password or username
    if not token:
        return False
    auth = auth_service(websocket)
    try:
        if split_api_key(token) is not None and token.count(".") == 1:
            principal = await auth.authenticate_api_key(token)
        else:
            principal = await auth.authenticate_bearer(token)
    except AuthError:
        return False
    return not is_edge_credential(principal.via, principal.scopes)  # an edge's key opens its link only


async def _receive(websocket: WebSocket, limit: float) -> bytes | None:
    """The next message's bytes, or None when the peer left or stayed silent past `limit`."""
    with trio.move_on_after(limit):
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] == "websocket.disconnect":
            return None
        data = message.get("bytes")
        if data is None:  # text frames are not MQTT
            raise MqttProtocolError("a text frame")
        return bytes(data)
    return None


@router.websocket("/api/mqtt/")
@router.websocket("/api/mqtt")
async def mqtt_endpoint(websocket: WebSocket) -> None:
    """One subscriber's connection (see the module docstring)."""
    wanted = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="mqtt" if "mqtt" in wanted else None)
    buffer, connected, limit = b"", False, CONNECT_DEADLINE
    try:
        while True:
            data = await _receive(websocket, limit)
            if data is None:
                break
            packets, buffer = split_packets(buffer + data)
            for kind, flags, body in packets:
                if not connected:
                    if kind != CONNECT:
                        raise MqttProtocolError("the first packet was not CONNECT")
                    hello = parse_connect(body)
                    if hello.level not in (3, 4):
                        await websocket.send_bytes(bytes([0x20, 2, 0, CONNACK_BAD_PROTOCOL]))
                        return
                    if not await _authorized(websocket, hello.username, hello.password):
                        await websocket.send_bytes(bytes([0x20, 2, 0, CONNACK_NOT_AUTHORIZED]))
                        return
                    await websocket.send_bytes(bytes([0x20, 2, 0, CONNACK_ACCEPTED]))
                    connected, limit = True, hello.keep_alive * 1.5 if hello.keep_alive else IDLE_LIMIT
                elif kind == SUBSCRIBE:
                    packet_id, count = _topics(body, with_qos=True)
                    await websocket.send_bytes(bytes([0x90, 2 + count]) + packet_id + bytes(count))
                elif kind == UNSUBSCRIBE:
                    packet_id, _ = _topics(body, with_qos=False)
                    await websocket.send_bytes(bytes([0xB0, 2]) + packet_id)
                elif kind == PINGREQ:
                    await websocket.send_bytes(bytes([0xD0, 0]))
                elif kind == PUBLISH and not flags & 0x06:
                    continue  # QoS 0: nothing here subscribes to what clients publish
                elif kind == DISCONNECT:
                    return
                else:
                    raise MqttProtocolError(f"packet type {kind} is not one a subscriber sends")
    except MqttProtocolError as exc:
        log.info("mqtt connection closed: %s", exc)
    finally:
        with suppress(RuntimeError):  # already closed by the peer
            await websocket.close()
