"""SNMP v1/v2c notification decoding, cheap checks first, each rejection a one-line reason.

A trap port faces the whole site LAN, so what arrives there is judged in order of cost:

    peek(data)            a few bytes of BER by hand: version and community (microseconds)
    decode(data, source)  the whole message through pyasn1 (tens of microseconds and up)

Both raise TrapRejected, whose `kind` says what to count it as ("malformed" or
"wrong_community") and whose text is one line fit for a log. Nothing a datagram holds
can make them raise anything else: pyasn1 and pysnmp's RFC 3584 mapping raise assorted
errors (TypeError among them) on hostile input, and every one becomes "malformed".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto.api import v1, v2c
from pysnmp.proto.proxy import rfc2576

from drivers.sdk.transports.snmp import to_python

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"  # the varbind that names a v2c trap (v1 traps are mapped to it)
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
VERSION_1, VERSION_2C, VERSION_3 = 0, 1, 3
# Longest reason text: a log line stays one short line whatever the input.
REASON_CHARS = 160
# Largest notification decoded. Agents keep traps within one Ethernet frame (~1,500 bytes);
# the bound keeps a hostile 64 KiB datagram of nested BER from costing a long decode.
MAX_TRAP_BYTES = 16 * 1024

Trap = dict[str, Any]
Rejection = Literal["malformed", "wrong_community"]


class TrapRejected(ValueError):
    """Raised by peek/decode for a datagram that is not an acceptable trap; not for socket errors.

    `kind` is "malformed" (not BER, not SNMP v1/v2c, not a notification) or
    "wrong_community" (a community not accepted, or SNMPv3, for which no users exist).
    """

    def __init__(self, kind: Rejection, reason: str) -> None:
        super().__init__(reason)
        self.kind: Rejection = kind

    def __str__(self) -> str:
        # made fit for a log only when said: most rejections are counted, never logged
        return _one_line(super().__str__())


@dataclass(frozen=True)
class Header:
    """What peek() reads: the SNMP version (0: v1, 1: v2c) and the community."""

    version: int
    community: bytes


@dataclass(frozen=True)
class Decoded:
    """A trap (see SNMPTrapReceiver for its keys) and, for an InformRequest, the response to send."""

    trap: Trap
    response: bytes | None = None


def _one_line(text: str) -> str:
    """One printable line (no control characters from the datagram reach the log), bounded."""
    flat = "".join(char if char.isprintable() else "?" for char in " ".join(str(text).split()))
    return flat if len(flat) <= REASON_CHARS else flat[: REASON_CHARS - 3] + "..."


def _tlv(data: bytes, at: int, tag: int, what: str) -> tuple[int, int]:
    """(start, end) of the value of the BER element at `at`, which must have `tag`."""
    if at + 2 > len(data):
        raise TrapRejected("malformed", f"truncated before the {what}")
    if data[at] != tag:
        raise TrapRejected("malformed", f"the {what} has BER tag 0x{data[at]:02x}, not 0x{tag:02x}")
    length, at = data[at + 1], at + 2
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4 or at + size > len(data):
            raise TrapRejected("malformed", f"bad BER length of the {what}")
        length, at = int.from_bytes(data[at : at + size], "big"), at + size
    if at + length > len(data):
        raise TrapRejected("malformed", f"the {what} claims {length} bytes; {len(data) - at} follow")
    return at, at + length


def peek(data: bytes) -> Header:
    """Read the version and community without decoding the rest.

    Raises:
        TrapRejected: not an SNMP message's start ("malformed"), or SNMPv3 ("wrong_community").
    """
    if len(data) > MAX_TRAP_BYTES:
        raise TrapRejected("malformed", f"{len(data)} bytes, more than the {MAX_TRAP_BYTES} a trap may have")
    start, end = _tlv(data, 0, 0x30, "message")
    if end != len(data):
        raise TrapRejected("malformed", f"{len(data) - end} bytes after the message")
    at, stop = _tlv(data, start, 0x02, "version")
    if not 1 <= stop - at <= 4:
        raise TrapRejected("malformed", "bad version length")
    version = int.from_bytes(data[at:stop], "big", signed=True)
    if version == VERSION_3:
        raise TrapRejected("wrong_community", "SNMPv3 (no trap users are configured)")
    if version not in (VERSION_1, VERSION_2C):
        raise TrapRejected("malformed", f"unknown SNMP version {version}")
    at, stop = _tlv(data, stop, 0x04, "community")
    return Header(version, bytes(data[at:stop]))


def check_community(header: Header, communities: frozenset[bytes]) -> None:
    """Raises TrapRejected("wrong_community") unless the header's community is accepted."""
    if header.community not in communities:
        shown = header.community[:32].decode("latin-1")
        raise TrapRejected("wrong_community", f"community {shown!r} is not accepted")


def decode(data: bytes, header: Header, source: tuple[str, int]) -> Decoded:
    """Decode a notification that peek() passed.

    Raises:
        TrapRejected: ("malformed") the rest is not a v1 Trap, v2c Trap or InformRequest.
    """
    try:
        return _decode(data, header, source)
    except TrapRejected:
        raise
    except Exception as exc:  # pyasn1/pysnmp on hostile bytes: PyAsn1Error, TypeError, ValueError, ...
        raise TrapRejected("malformed", f"{type(exc).__name__}: {exc}") from None


def _decode(data: bytes, header: Header, source: tuple[str, int]) -> Decoded:
    api = v1 if header.version == VERSION_1 else v2c
    message, rest = decoder.decode(data, asn1Spec=api.Message())
    if rest:
        raise TrapRejected("malformed", f"{len(rest)} bytes after the message")
    pdu = api.apiMessage.get_pdu(message)
    response = None
    if header.version == VERSION_1:
        if not pdu.isSameTypeWith(v1.TrapPDU()):
            raise TrapRejected("malformed", f"a v1 {type(pdu).__name__}, not a Trap-PDU")
        var_binds = v2c.apiTrapPDU.get_varbinds(rfc2576.v1_to_v2(pdu, snmpTrapCommunity=header.community))
    elif pdu.isSameTypeWith(v2c.SNMPv2TrapPDU()):
        var_binds = v2c.apiPDU.get_varbinds(pdu)
    elif pdu.isSameTypeWith(v2c.InformRequestPDU()):
        var_binds = v2c.apiPDU.get_varbinds(pdu)
        reply = v2c.apiMessage.get_response(message)
        v2c.apiPDU.set_varbinds(v2c.apiMessage.get_pdu(reply), var_binds)
        response = bytes(encoder.encode(reply))
    else:
        raise TrapRejected("malformed", f"a v2c {type(pdu).__name__}, not a notification")
    values = [(str(name), to_python(value)) for name, value in var_binds]
    named = dict(values)
    trap: Trap = {
        "source": source,
        "community": to_python(v2c.OctetString(header.community)),
        "trap_oid": named.get(SNMP_TRAP_OID),
        "uptime": named.get(SYS_UPTIME),
        "varbinds": [(oid, value) for oid, value in values if oid not in (SNMP_TRAP_OID, SYS_UPTIME)],
    }
    return Decoded(trap, response)
