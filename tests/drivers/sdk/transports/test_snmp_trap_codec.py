"""The trap codec's cheap checks: what peek and decode reject, and that the reason is one printable line."""

from __future__ import annotations

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.proto.api import v2c

from drivers.sdk.transports.snmp_trap_codec import (
    MAX_TRAP_BYTES,
    REASON_CHARS,
    TrapRejected,
    check_community,
    decode,
    peek,
)
from tests.edge.dispatch.traffic import trap_bytes, with_header


def get_request() -> bytes:
    """A v2c GetRequest, well formed: SNMP, but not a notification."""
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 1, 5, 0), v2c.Null(""))])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, "public")
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def rejected(data: bytes, communities: frozenset[bytes] = frozenset({b"public"})) -> TrapRejected:
    with pytest.raises(TrapRejected) as caught:
        header = peek(data)
        check_community(header, communities)
        decode(data, header, ("127.0.0.1", 162))
    return caught.value


def test_a_good_trap_decodes() -> None:
    data = trap_bytes("ups-1")
    header = peek(data)
    assert (header.version, header.community) == (1, b"public")
    trap = decode(data, header, ("127.0.0.1", 50000)).trap
    assert trap["trap_oid"] == "1.3.6.1.4.1.318.0.5" and trap["varbinds"] == [("1.3.6.1.2.1.1.5.0", "ups-1")]


@pytest.mark.parametrize(
    ("data", "kind", "says"),
    [
        (b"", "malformed", "truncated"),
        (b"garbage", "malformed", "BER tag 0x67"),
        (b"\x30\x82\xff\xff", "malformed", "claims 65535 bytes"),
        (trap_bytes("x") + b"\x00", "malformed", "1 bytes after the message"),
        (with_header(3, b"")(b""), "wrong_community", "SNMPv3"),
        (with_header(7, b"public")(b""), "malformed", "unknown SNMP version 7"),
        (trap_bytes("x", community="intruder"), "wrong_community", "'intruder' is not accepted"),
        (get_request(), "malformed", "GetRequestPDU, not a notification"),
        (b"\x30" * (MAX_TRAP_BYTES + 1), "malformed", "more than"),
    ],
)
def test_what_is_rejected_and_why(data: bytes, kind: str, says: str) -> None:
    error = rejected(data)
    assert error.kind == kind and says in str(error)


def test_a_reason_is_one_short_printable_line_whatever_the_datagram_holds() -> None:
    community = b"\x1b[31mred\nline\x00" * 40
    error = rejected(with_header(1, community)(b""))
    text = str(error)
    assert error.kind == "wrong_community" and len(text) <= REASON_CHARS
    assert text.isprintable() and "\n" not in text and "\x1b" not in text
