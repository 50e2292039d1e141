"""The one error table: names are unique, the link carries each, a ControlError answers from its row."""

from __future__ import annotations

from sync.control.errors import ERROR_KINDS, ControlError, ErrorKind, WsCode
from sync.link import EXEC_ERRORS, ExecFailed


def test_each_kind_has_its_own_name_and_the_link_can_carry_it() -> None:
    names = [kind.error for kind in ErrorKind]
    assert len(set(names)) == len(names)
    assert set(names) == EXEC_ERRORS
    for kind in ErrorKind:
        assert ERROR_KINDS[kind.error] is kind
        assert ExecFailed(kind.error, "x").error == kind.error


def test_a_control_error_answers_from_its_row() -> None:
    missing = ControlError(ErrorKind.MODULE_NOT_FOUND, "Display_9 not found in sys-1")
    assert (missing.status, missing.code, missing.error) == (404, 6, "module_not_found")
    assert missing.body() == {"error": "module_not_found", "message": "Display_9 not found in sys-1"}
    failed = ControlError(ErrorKind.REQUEST_FAILED, "on fire", status=502, details={"why": "lamp"})
    assert (failed.status, failed.code) == (502, WsCode.REQUEST_FAILED)
    assert failed.body()["details"] == {"why": "lamp"}
