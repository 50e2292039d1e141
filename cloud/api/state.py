"""ApiState: what every route reaches through `request.app.state.api` (store, seams, cipher)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.requests import HTTPConnection

from cloud.api.module_seams import ModuleRouter, StatusBus
from cloud.api.search_seam import SearchIndex
from cloud.store.base import ConfigStore
from sync.model import SettingsCipher

if TYPE_CHECKING:
    from cloud.api.changes import ChangeHub


@dataclass
class ClusterNode:
    """One node of the cloud tier, as `/cluster` lists it."""

    id: str
    uri: str
    version: str
    ready: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "uri": self.uri, "version": self.version, "ready": self.ready}


@dataclass
class ApiState:
    """The API's collaborators, made once by `create_app`."""

    store: ConfigStore
    auth: Any
    modules: ModuleRouter
    status: StatusBus
    search: SearchIndex
    cipher: SettingsCipher | None
    hub: ChangeHub
    nodes: list[ClusterNode] = field(default_factory=list)


def api_state(connection: Request | HTTPConnection) -> ApiState:
    """The ApiState of the app serving a request or WebSocket."""
    state: ApiState = connection.app.state.api
    return state
