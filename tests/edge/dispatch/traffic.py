"""Traffic for the trap port's tests and benchmark: good traps (pysnmp's encoder) and garbage of all kinds."""

from __future__ import annotations

import random
from collections.abc import Callable

from pyasn1.codec.ber import encoder
from pysnmp.proto.api import v2c

SYS_NAME = "1.3.6.1.2.1.1.5.0"


def trap_bytes(text: str, *, community: str = "public") -> bytes:
    """A v2c trap as an agent sends it (pysnmp's encoder): an APC trap carrying `text`."""
    pdu = v2c.SNMPv2TrapPDU()
    v2c.apiTrapPDU.set_defaults(pdu)
    v2c.apiTrapPDU.set_varbinds(
        pdu,
        [
            (v2c.apiTrapPDU.sysUpTime, v2c.TimeTicks(12345)),
            (v2c.apiTrapPDU.snmpTrapOID, v2c.ObjectIdentifier("1.3.6.1.4.1.318.0.5")),
            (v2c.ObjectIdentifier(SYS_NAME), v2c.OctetString(text)),
        ],
    )
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


VALID = trap_bytes("ups-1")


def ber_length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else b"\x82" + n.to_bytes(2, "big")


def with_header(version: int, community: bytes) -> Callable[[bytes], bytes]:
    def build(body: bytes) -> bytes:
        inner = b"\x02\x01" + bytes([version]) + b"\x04" + ber_length(len(community)) + community + body
        return b"\x30" + ber_length(len(inner)) + inner

    return build


def mutate(data: bytes, change: tuple[str, int, int]) -> bytes:
    how, at, value = change
    at %= len(data)
    if how == "flip":
        return data[:at] + bytes([data[at] ^ (value or 1)]) + data[at + 1 :]
    if how == "truncate":
        return data[:at]
    if how == "insert":
        return data[:at] + bytes([value]) + data[at:]
    return data[:at] + data[at + 1 :]


def garbage(rng: random.Random) -> bytes:
    """One hostile datagram: random bytes, a mutated trap, or a valid header with a random body."""
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 300))
    if kind == 1:
        change = (
            rng.choice(["flip", "truncate", "insert", "delete"]),
            rng.randrange(len(VALID)),
            rng.randrange(256),
        )
        return mutate(VALID, change)
    body = rng.randbytes(rng.randrange(0, 200))
    return (
        with_header(rng.choice([0, 1]), b"public")(body) if kind == 2 else with_header(1, b"intruder")(body)
    )
