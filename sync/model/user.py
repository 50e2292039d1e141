"""User: a person (or service account) of one authority, with their clearance."""

from __future__ import annotations

from pydantic import Field, JsonValue

from .document import Document
from .fields import AuthorityId, Email, Flag, OptionalText


class User(Document):
    """A user. `sys_admin` and `support` give the admin and support roles.

    `password_digest` is a hash (argon2 in Transom), never a password; it is
    part of the document so the edge can check credentials offline, and the
    API must not return it.
    """

    table = "users"

    authority_id: AuthorityId
    name: OptionalText = ""
    nickname: OptionalText = ""
    email: Email
    login_name: OptionalText = ""
    staff_id: OptionalText = ""
    first_name: OptionalText = ""
    last_name: OptionalText = ""
    phone: OptionalText = ""
    country: OptionalText = ""
    building: OptionalText = ""
    department: OptionalText = ""
    image: OptionalText = ""
    card_number: OptionalText = ""
    groups: list[str] = Field(default_factory=list)
    sys_admin: Flag = False
    support: Flag = False
    deleted: Flag = False
    password_digest: OptionalText = ""
    misc: dict[str, JsonValue] = Field(default_factory=dict)
