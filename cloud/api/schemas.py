"""Pydantic models that only describe answers in the OpenAPI document (errors, views, extras)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model

from sync.model import TABLES, Document


class FieldProblem(BaseModel):
    """One bad field: its dotted path and what is wrong."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer: a short code, a sentence, and for invalid documents the bad fields."""

    error: str = Field(examples=["invalid"])
    message: str
    fields: list[FieldProblem] | None = None


def _without(model: type[Document], name: str, hidden: set[str]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        key: (info.annotation, info) for key, info in model.model_fields.items() if key not in hidden
    }
    return create_model(name, __doc__=model.__doc__, **fields)


def _replacing(model: type[Document], name: str, **changed: Any) -> type[BaseModel]:
    fields: dict[str, Any] = {key: (info.annotation, info) for key, info in model.model_fields.items()}
    fields.update(changed)
    return create_model(name, __doc__=model.__doc__, **fields)


_ROLE_NUMBER = (
    int,
    Field(description="PlaceOS's role number: 0 ssh, 1 device, 2 service, 3 websocket, 99 logic"),
)


class DriverSummary(BaseModel):
    """The driver fields PlaceOS includes with each module in a list."""

    name: str
    description: str = ""


DriverView = _replacing(TABLES["drivers"], "DriverView", role=_ROLE_NUMBER)
"""A driver as the API shows it: the role as PlaceOS's number."""

ModuleView = _replacing(
    TABLES["modules"],
    "ModuleView",
    role=_ROLE_NUMBER,
    driver=(DriverSummary | None, Field(None, description="its driver's name and description")),
    runtime_error=(str | None, Field(None, description="why it is not working, when has_runtime_error")),
    last_error=(str | None, Field(None, description="the last error its site reported (a short message)")),
    site_state=(
        dict[str, Any] | None,
        Field(None, description="what its site reports: state, running, node_id, reported_at"),
    ),
    warnings=(list[str] | None, Field(None, description="what stops it running (no edge_id)")),
)
"""A module as the API shows it: the role as PlaceOS's number, with its driver's name and what
its site reports (cloud.edges.module_truth)."""

UserView = _without(TABLES["users"], "UserView", {"password_digest"})
"""A user as the API shows it: never the password digest."""

UserInput = create_model(
    "UserInput",
    __base__=UserView,
    password=(str | None, Field(None, description="the new password (8 characters or more); hashed")),
)
"""A user as a client writes it: a password instead of a digest."""

ApiKeyView = _without(TABLES["api_keys"], "ApiKeyView", {"secret"})
"""An API key as the API shows it: never the secret's hash."""


class ApiKeyInput(BaseModel):
    """What creating an API key takes; `user_id` defaults to the caller."""

    name: str
    description: str = ""
    user_id: str | None = None
    scopes: list[str] = Field(default_factory=lambda: ["public"])
    permissions: str | None = Field(None, description="user, support or admin: caps the user's role")
    expires_at: int | None = None


class ApiKeyCreated(BaseModel):
    """The answer to creating an API key: the document, and the key itself, shown this once."""

    model_config = {"extra": "allow"}

    id: str
    x_api_key: str = Field(description="the key to send as X-API-Key; it is not shown again")


class Version(BaseModel):
    """`GET /version`, as PlaceOS services answer it."""

    app: str
    version: str
    build_time: str
    commit: str
    platform_version: str


class ClusterNodeView(BaseModel):
    id: str
    uri: str
    version: str
    ready: bool


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request cannot be read (bad JSON or parameter)"},
    401: {"model": ErrorBody, "description": "No valid credentials"},
    403: {"model": ErrorBody, "description": "The caller's role or scopes are too low"},
    404: {"model": ErrorBody, "description": "No such document"},
    409: {"model": ErrorBody, "description": "A stale version or a duplicate"},
    422: {"model": ErrorBody, "description": "The document breaks a rule; `fields` names each"},
}
