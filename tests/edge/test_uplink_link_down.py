"""A cloud that dies mid-session is news for the log, not a traceback: which errors mean "the link
is down" once a session's nursery has grouped them."""

from __future__ import annotations

import trio
from trio_websocket import CloseReason, ConnectionClosed

from edge.uplink.uplink import _link_down

ABNORMAL = CloseReason(1006, None)


def test_a_closed_connection_inside_the_sessions_group_is_link_down() -> None:
    closed = ConnectionClosed(ABNORMAL)
    assert _link_down(closed) is closed
    assert _link_down(ExceptionGroup("session", [closed])) is closed
    assert _link_down(ExceptionGroup("outer", [ExceptionGroup("inner", [closed])])) is closed
    reset = ConnectionResetError()
    assert _link_down(ExceptionGroup("session", [closed, trio.BrokenResourceError(), reset])) is closed


def test_a_bug_beside_a_closed_connection_is_not_hidden() -> None:
    closed = ConnectionClosed(ABNORMAL)
    assert _link_down(ExceptionGroup("session", [closed, KeyError("x")])) is None
    assert _link_down(ValueError("a bug")) is None
