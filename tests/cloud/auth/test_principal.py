"""Principal: PlaceOS scope rules, role order, driver security levels; settings redaction by role."""

from __future__ import annotations

import pytest

from cloud.auth.redaction import may_see_settings, redact_for
from sync.model import Role
from sync.principal import Principal, level_role, lowest_role


def principal(role: Role = Role.USER, *scopes: str) -> Principal:
    return Principal(user_id="user-0000000001", role=role, scopes=frozenset(scopes), via="jwt", name="n")


def test_public_scope_grants_everything() -> None:
    p = principal(Role.USER, "public")
    assert p.allows_scope("systems", write=True) and p.allows_scope("anything", write=False)


def test_resource_scopes() -> None:
    both, read, write = (
        principal(Role.USER, "systems"),
        principal(Role.USER, "systems.read"),
        principal(Role.USER, "systems.write"),
    )
    assert both.allows_scope("systems", False) and both.allows_scope("systems", True)
    assert read.allows_scope("systems", False) and not read.allows_scope("systems", True)
    assert write.allows_scope("systems", True) and not write.allows_scope("systems", False)
    assert not both.allows_scope("zones", False)
    assert not principal(Role.ADMIN).allows_scope("systems", False)  # no scopes: nothing


def test_roles_and_security_levels() -> None:
    user, support, admin = principal(Role.USER), principal(Role.SUPPORT), principal(Role.ADMIN)
    assert [p.may_call("support") for p in (user, support, admin)] == [False, True, True]
    assert [p.may_call("administrator") for p in (user, support, admin)] == [False, False, True]
    assert [p.may_call(0) for p in (user, support, admin)] == [True, True, True]
    assert support.is_support and not support.is_admin and admin.is_support
    assert lowest_role(Role.ADMIN, Role.USER, Role.SUPPORT) is Role.USER
    assert level_role(2) is Role.ADMIN
    for bad in ("root", 3, True):
        with pytest.raises(ValueError):
            level_role(bad)


def test_settings_redaction_follows_the_role() -> None:
    document = {"id": "sets-0000000001", "encryption_level": "support", "settings_string": "pin: 1234"}
    assert redact_for(principal(Role.USER), document)["settings_string"] == "[redacted]"
    assert redact_for(principal(Role.SUPPORT), document)["settings_string"] == "pin: 1234"
    assert not may_see_settings(principal(Role.ADMIN), "never_display")
    assert may_see_settings(principal(Role.ADMIN), "admin")
