"""Enrolment as node and cloud both see it: the token's shape, the exchange, and why one is refused.

    ENROL_PATH            POST here (no other credential) with an EnrolRequest
    EnrolRequest          token, node id, the node's Ed25519 public key, a signature with its key
    EnrolResponse         the edge (site) the token was for, and the node's own edge key
    Refusal               why a token is refused: one member per reason, each with its message
    signed_message        the bytes the node signs (proves it holds the key it enrols)

A token is `enr-<10 chars>.<secret>`: the id names the record, only the secret's hash is
kept. A token is good for `uses` enrolments until it expires or is revoked; each enrolment
issues the node its own edge key, so one node's credentials can be revoked alone.
"""

from __future__ import annotations

import base64
import enum
import re

from pydantic import BaseModel, ConfigDict, Field

ENROL_PATH = "/api/engine/v2/edges/enrol"
# A request body is at most this many bytes (a token, an id, a key and a signature fit in 1 KiB).
MAX_REQUEST_BYTES = 4096
TOKEN_PATTERN = re.compile(r"^(enr-[0-9A-Za-z]{10})\.([0-9A-Za-z_-]{20,100})$")
NODE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


class EnrolRequest(BaseModel):
    """What a node sends, once, to exchange its token for credentials."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=160)
    node_id: str = Field(pattern=NODE_ID_PATTERN)
    public_key: str = Field(max_length=64, description="base64 of the raw 32-byte Ed25519 public key")
    signature: str = Field(max_length=128, description="base64 Ed25519 signature of signed_message(...)")


class EnrolResponse(BaseModel):
    """What the cloud answers: the node's edge (its site) and the key it dials the edge link with."""

    edge_id: str
    edge_name: str
    node_id: str
    edge_key: str


class Refusal(enum.Enum):
    """Why an enrolment is refused: (HTTP status, message). The message is what the node prints."""

    TOKEN_MALFORMED = (400, "the enrolment token is not one `transom cloud enrol-token` issues")
    TOKEN_UNKNOWN = (403, "the enrolment token is not known to this cloud")
    TOKEN_USED = (403, "the enrolment token has been used up: issue a new one")
    TOKEN_EXPIRED = (403, "the enrolment token has expired: issue a new one")
    TOKEN_REVOKED = (403, "the enrolment token was revoked: issue a new one")
    SIGNATURE_INVALID = (400, "the request's signature does not match its public key")
    NODE_TAKEN = (409, "another node of this edge already enrolled with this node id")

    @property
    def status(self) -> int:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]

    @classmethod
    def named(cls, name: str) -> Refusal | None:
        """The refusal with this lower-case name (as the cloud's error body carries it), else None."""
        return cls.__members__.get(name.upper())


def split_token(token: str) -> tuple[str, str] | None:
    """(token id, secret) of a well-formed token, else None."""
    match = TOKEN_PATTERN.fullmatch(token.strip())
    return (match[1], match[2]) if match else None


def signed_message(token: str, node_id: str, public_key: str) -> bytes:
    """The bytes a node signs with its private key when it enrols."""
    return f"transom-enrol\n{token}\n{node_id}\n{public_key}".encode()


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    """Bytes of standard base64 text (raises ValueError when it is not)."""
    return base64.b64decode(text.encode(), validate=True)
