"""Enrolment: one-time tokens an admin issues per site, exchanged by a new node for its own edge key.

    issue_token(site, expires_in, uses)  -> the token (shown once) and its record
    enrol(EnrolRequest)                  -> EnrolResponse, or EnrolmentRefusedError(Refusal)
    nodes(edge_id)                       -> enrolled nodes (online or not, revoked or not) and
                                            pending tokens, for `GET /edges/{id}/nodes`
    revoke_node(edge_id, node_id)        -> the node's key is deleted: its link closes, and
                                            it is refused from then on
    revoke_token(token_id)               -> no more enrolments with it

A site is an Edge document (found by id or name, created by name). Each node gets its own
API key (scoped `edge` only, capped at `user`, owned by the token's issuer); `EdgeHub`
resolves such keys to their edge through `edge_of_key`, so one node can be revoked alone.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cloud.auth.service import AuthService
from cloud.edges.enrolment_db import EnrolmentDB, TokenRow
from cloud.edges.keys import EDGE_KEY_SCOPES, find_edge
from cloud.store.base import ConfigStore
from sync.credentials import api_key_digest, api_key_matches
from sync.enrolment import EnrolRequest, EnrolResponse, Refusal, signed_message, split_token, unb64
from sync.model import Role

ENROLMENT_FILE_NAME = "enrolment.db"
# Bounds on what an admin may ask for: a token lives at most 30 days and enrols at most 1,000 nodes.
MAX_EXPIRES = 30 * 86400.0
MAX_USES = 1000
_ALPHABET = string.ascii_letters + string.digits


class EnrolmentRefusedError(Exception):
    """Raised when an enrolment is refused; `reason` says why (its message is what the node shows)."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.message)
        self.reason = reason


class EnrolmentRequestInvalid(ValueError):
    """Raised when an admin's token request is out of bounds (expiry, uses, empty site)."""


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued (shown once), its record, and the edge (site) it enrols into."""

    token: str
    record: dict[str, Any]
    edge: dict[str, Any]


class EnrolmentService:
    """Tokens and enrolled nodes, over the config store (edges, API keys) and the enrolment file."""

    def __init__(self, store: ConfigStore, auth: AuthService, db: EnrolmentDB) -> None:
        self.store = store
        self.auth = auth
        self.db = db

    @classmethod
    def open(cls, store: ConfigStore, auth: AuthService, data_dir: str | Path) -> EnrolmentService:
        return cls(store, auth, EnrolmentDB(Path(data_dir) / ENROLMENT_FILE_NAME))

    async def aclose(self) -> None:
        await self.db.aclose()

    async def issue_token(self, site: str, *, expires_in: float, uses: int, owner_id: str) -> IssuedToken:
        """A new token enrolling `uses` nodes into `site` (an edge id or name; created by name).

        Raises:
            EnrolmentRequestInvalid: expiry or uses out of bounds, or an empty site.
            EdgeNotFound: `site` is an edge id that does not exist.
        """
        if not site.strip():
            raise EnrolmentRequestInvalid("site is empty: give the edge's id or a name")
        if not 0 < expires_in <= MAX_EXPIRES:
            raise EnrolmentRequestInvalid(f"expires must be between 1 s and 30 days, not {expires_in:g} s")
        if not 0 < uses <= MAX_USES:
            raise EnrolmentRequestInvalid(f"uses must be between 1 and {MAX_USES}, not {uses}")
        edge = await find_edge(self.store, site.strip())
        if edge is None:
            change = await self.store.put("edges", {"name": site.strip()})
            assert change.document is not None
            edge = change.document
        token_id = "enr-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
        secret = secrets.token_urlsafe(24)
        now = time.time()
        row = TokenRow(
            token_id, api_key_digest(secret), edge["id"], uses, uses, now + expires_in, False, now, owner_id
        )
        await self.db.add_token(row)
        return IssuedToken(f"{token_id}.{secret}", row.as_json(), edge)

    async def enrol(self, request: EnrolRequest) -> EnrolResponse:
        """Check the token and the signature, spend one use, issue the node's key.

        Raises:
            EnrolmentRefusedError: malformed, unknown, used, expired or revoked token; bad signature.
        """
        parsed = split_token(request.token)
        if parsed is None:
            raise EnrolmentRefusedError(Refusal.TOKEN_MALFORMED)
        row = await self.db.token(parsed[0])
        if row is None or not api_key_matches(row.digest, parsed[1]):
            raise EnrolmentRefusedError(Refusal.TOKEN_UNKNOWN)
        try:
            public = Ed25519PublicKey.from_public_bytes(unb64(request.public_key))
            public.verify(
                unb64(request.signature), signed_message(request.token, request.node_id, request.public_key)
            )
        except (ValueError, InvalidSignature):
            raise EnrolmentRefusedError(Refusal.SIGNATURE_INVALID) from None
        known = {n["node_id"]: n for n in await self.db.nodes(row.edge_id)}
        if request.node_id in known and known[request.node_id]["revoked_at"] is None:
            raise EnrolmentRefusedError(Refusal.NODE_TAKEN)
        now = time.time()
        if not await self.db.spend(row.id, now):
            current = await self.db.token(row.id) or row
            if current.revoked:
                raise EnrolmentRefusedError(Refusal.TOKEN_REVOKED)
            if current.uses_left <= 0:
                raise EnrolmentRefusedError(Refusal.TOKEN_USED)
            raise EnrolmentRefusedError(Refusal.TOKEN_EXPIRED)
        try:
            edge = await self.store.get("edges", row.edge_id)
            if edge is None:
                raise EnrolmentRefusedError(Refusal.TOKEN_REVOKED)  # the site was deleted since
            document, key = await self.auth.create_api_key(
                row.owner_id,
                f"node {request.node_id} of edge {edge['name']}",
                EDGE_KEY_SCOPES,
                permissions=Role.USER,
                description=f"the link key of node {request.node_id} of edge {edge['id']}",
            )
        except BaseException:
            await self.db.give_back(row.id)
            raise
        await self.db.add_node(edge["id"], request.node_id, request.public_key, document["id"], row.id)
        return EnrolResponse(
            edge_id=edge["id"], edge_name=edge["name"], node_id=request.node_id, edge_key=key
        )

    async def edge_of_key(self, key_id: str) -> str | None:
        """The edge a node's key belongs to (None if it is no live node's)."""
        return await self.db.edge_of_key(key_id)

    async def nodes(self, edge_id: str, online: set[str]) -> dict[str, Any]:
        """Enrolled nodes (`online` names those with a live link) and pending tokens of one edge."""
        enrolled = []
        for node in await self.db.nodes(edge_id):
            state = "revoked" if node["revoked_at"] else "online" if node["node_id"] in online else "enrolled"
            enrolled.append({**{k: v for k, v in node.items() if k != "key_id"}, "state": state})
        tokens = [t.as_json() for t in await self.db.tokens(edge_id)]
        return {
            "edge_id": edge_id,
            "nodes": enrolled,
            "pending": [t for t in tokens if t["state"] == "pending"],
        }

    async def revoke_node(self, edge_id: str, node_id: str) -> bool:
        """Revoke a node's credentials (its key is deleted, which closes its link); False if none."""
        key_id = await self.db.revoke_node(edge_id, node_id)
        if key_id is None:
            return False
        await self.store.delete("api_keys", key_id)
        return True

    async def revoke_token(self, token_id: str) -> bool:
        return await self.db.revoke_token(token_id)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | float | int) -> float:
    """Seconds of `24h`, `30m`, `7d`, `90s` or a plain number of seconds.

    Raises:
        EnrolmentRequestInvalid: anything else.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    value = str(text).strip().lower()
    try:
        if value and value[-1] in _UNITS:
            return float(value[:-1]) * _UNITS[value[-1]]
        return float(value)
    except ValueError:
        raise EnrolmentRequestInvalid(f"expires must look like 24h, 30m, 7d or 3600, not {text!r}") from None
