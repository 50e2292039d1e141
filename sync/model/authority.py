"""Authority: one tenant, found by the domain a request arrives on."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, JsonValue, StrictStr

from .document import Document
from .fields import Name, OptionalText

_DOMAIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?(:\d{1,5})?")


def _check_domain(value: str) -> str:
    if not _DOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a host name (e.g. 'example.com' or 'localhost:8080')")
    return value.lower()


class Authority(Document):
    """A tenant: its domain, login/logout URLs and free-form config (e.g. `org_zone`)."""

    table = "authorities"

    name: Name
    description: OptionalText = ""
    domain: Annotated[StrictStr, AfterValidator(_check_domain)]
    login_url: OptionalText = "/login?continue={{url}}"
    logout_url: OptionalText = "/auth/logout"
    internals: dict[str, JsonValue] = Field(default_factory=dict)
    config: dict[str, JsonValue] = Field(default_factory=dict)
    email_domains: list[StrictStr] = Field(default_factory=list)
