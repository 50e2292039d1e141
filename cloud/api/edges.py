"""/edges: CRUD for the sites' edge clusters (admins write, support reads).

The edge link (`WS /edges/control`, keys and tokens for edges) is a later piece.
"""

from __future__ import annotations

from fastapi import APIRouter

from cloud.api.crud import Resource, install_crud
from sync.model import TABLES, Role

router = APIRouter(tags=["edges"])


class EdgesResource(Resource):
    table = "edges"
    path = "edges"
    model = TABLES["edges"]
    read_role = Role.SUPPORT
    write_role = Role.ADMIN


edges = EdgesResource()
install_crud(router, edges)
