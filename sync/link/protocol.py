"""The edge link's frames: what the cloud and an edge node say over `WSS /api/engine/v2/edges/control`.

Every frame is one JSON text message with `"v": 1` and a `"type"`:

    edge -> cloud
      hello        node_id, replica_revision, sealed_for, have (ids by table), last_seq, last_acked
      batch        batch (id), items [{seq, kind, module_id, key, at, value}], stats (outbox health);
                   kind `trigger` items are trigger firings and their action results
                   (module_id "", value {event: fired|actions, instance_id, count, ...})
      exec_result  id (correlation), ok, result | error {error, message, status}
      health       stats (outbox health), between batches
      error        code, message (the edge could not read a cloud frame)

    cloud -> edge
      hello_ok     edge_id, node_id, revision (store head), jwks (to check access tokens offline),
                   now (the cloud's wall clock, to place exec deadlines on the edge's clock)
      snapshot     revision, mode full|delta, tables, deletes, sealed_for, chunk, last
      changes      changes [{revision, table, id, op, document}]
      exec         id (correlation), module_id, method, args, role, timeout (seconds),
                   deadline (start-by, the cloud's wall clock: an exec not started by then never runs)
      webhook      instance_id, method: a trigger instance's webhook was called at the cloud
      ack          batch (id), last_seq
      error        code, message (the cloud could not read an edge frame)

A malformed frame is answered with an `error` frame naming the field; it never ends the
session. `parse_frame` validates strictly (unknown fields are errors) so drift shows at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

from sync.link.errors import LinkError

VERSION: Literal[1] = 1

# status_snapshot: a module's complete status ({key: value}) as of the item's seq; it replaces
# what the cloud holds for the module (keys it lacks are removed), sent on each connect.
ItemKind = Literal["status", "status_snapshot", "runtime", "event", "log", "exec_result", "trigger"]


class FrameInvalid(LinkError, ValueError):
    """Raised by `parse_frame` for a frame that is not JSON, not version 1, or breaks the schema.

    `code` is the error frame's code (parse_error, unsupported_version, invalid_frame).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = VERSION


# Edge -> cloud -----------------------------------------------------------------------------


class Hello(_Frame):
    """The edge's first frame: who it is and where its replica and outbox stand."""

    type: Literal["hello"] = "hello"
    node_id: Annotated[str, Field(min_length=1, max_length=200)]
    replica_revision: Annotated[int, Field(ge=0)] = 0
    sealed_for: str | None = None
    have: dict[str, list[str]] = Field(default_factory=dict)
    last_seq: Annotated[int, Field(ge=0)] = 0
    last_acked: Annotated[int, Field(ge=0)] = 0
    version: str = ""


class Item(_Frame):
    """One outbox item: `key` names the status or runtime key (None for events and logs)."""

    seq: Annotated[int, Field(ge=1)]
    kind: ItemKind
    module_id: str
    key: str | None = None
    at: float
    value: JsonValue = None


class Batch(_Frame):
    """Outbox items, sent in a window; the cloud acks each batch by its id once it is stored."""

    type: Literal["batch"] = "batch"
    batch: Annotated[int, Field(ge=0)]
    items: list[Item]
    stats: dict[str, JsonValue] = Field(default_factory=dict)


class ExecError(_Frame):
    """Why an exec failed: `error` is one of the cloud's routing error names (see errors.py)."""

    error: str
    message: str
    status: int | None = None


class ExecResult(_Frame):
    """The answer to one `exec`."""

    type: Literal["exec_result"] = "exec_result"
    id: str
    ok: bool
    result: JsonValue = None
    error: ExecError | None = None


class Health(_Frame):
    """Outbox health between batches (depth, age, drops...)."""

    type: Literal["health"] = "health"
    stats: dict[str, JsonValue]


class ErrorFrame(_Frame):
    """A frame could not be read or handled; both directions use it."""

    type: Literal["error"] = "error"
    code: str
    message: str


# Cloud -> edge -----------------------------------------------------------------------------


class HelloOk(_Frame):
    """The cloud accepted the hello."""

    type: Literal["hello_ok"] = "hello_ok"
    edge_id: str
    node_id: str
    revision: Annotated[int, Field(ge=0)]
    jwks: dict[str, JsonValue] = Field(default_factory=dict)
    now: float | None = None


class Snapshot(_Frame):
    """The site's configuration at `revision`, possibly in chunks; apply once `last` arrives.

    mode full: replace the replica with `tables`. mode delta (resume): upsert `tables` and
    remove `deletes`, bringing a replica that says what it `have`s up to `revision`.
    """

    type: Literal["snapshot"] = "snapshot"
    revision: Annotated[int, Field(ge=0)]
    mode: Literal["full", "delta"] = "full"
    tables: dict[str, list[dict[str, JsonValue]]] = Field(default_factory=dict)
    deletes: dict[str, list[str]] = Field(default_factory=dict)
    sealed_for: str | None = None
    chunk: Annotated[int, Field(ge=0)] = 0
    last: bool = True


class ChangeItem(_Frame):
    """One store change, as the replica applies it."""

    revision: Annotated[int, Field(ge=1)]
    table: str
    id: str
    op: Literal["insert", "update", "delete"]
    document: dict[str, JsonValue] | None = None


class Changes(_Frame):
    """Changes after the snapshot, in revision order."""

    type: Literal["changes"] = "changes"
    changes: list[ChangeItem]


class Exec(_Frame):
    """Call a function on a module the edge runs; answer with `exec_result` of the same id."""

    type: Literal["exec"] = "exec"
    id: Annotated[str, Field(min_length=1)]
    module_id: str
    method: str
    args: list[JsonValue] | dict[str, JsonValue] = Field(default_factory=list)
    role: Literal["user", "support", "admin"] = "user"
    timeout: Annotated[float, Field(gt=0)] = 30.0
    deadline: float | None = None


class Webhook(_Frame):
    """A trigger instance's webhook was called (secret and method checked at the cloud)."""

    type: Literal["webhook"] = "webhook"
    instance_id: Annotated[str, Field(min_length=1, max_length=200)]
    method: str = "POST"


class Ack(_Frame):
    """Batch `batch` is stored in the cloud: its items may be deleted from the outbox."""

    type: Literal["ack"] = "ack"
    batch: Annotated[int, Field(ge=0)]
    last_seq: Annotated[int, Field(ge=0)] = 0


UpFrame = Annotated[Hello | Batch | ExecResult | Health | ErrorFrame, Field(discriminator="type")]
DownFrame = Annotated[
    HelloOk | Snapshot | Changes | Exec | Webhook | Ack | ErrorFrame, Field(discriminator="type")
]

_UP: TypeAdapter[Hello | Batch | ExecResult | Health | ErrorFrame] = TypeAdapter(UpFrame)
_DOWN: TypeAdapter[HelloOk | Snapshot | Changes | Exec | Webhook | Ack | ErrorFrame] = TypeAdapter(DownFrame)


def parse_up(raw: str | bytes) -> Hello | Batch | ExecResult | Health | ErrorFrame:
    """Read a frame an edge sent.

    Raises:
        FrameInvalid: naming what is wrong.
    """
    return _validate(_UP, raw)


def parse_down(raw: str | bytes) -> HelloOk | Snapshot | Changes | Exec | Webhook | Ack | ErrorFrame:
    """Read a frame the cloud sent.

    Raises:
        FrameInvalid: naming what is wrong.
    """
    return _validate(_DOWN, raw)


def encode(frame: _Frame) -> bytes:
    """A frame as the JSON bytes that go on the wire."""
    return orjson.dumps(frame.model_dump(mode="json"))


def encode_batch(batch: int, items: list[dict[str, Any]], stats: dict[str, Any]) -> bytes:
    """A batch frame built without pydantic: item values may be `orjson.Fragment`s of stored JSON."""
    return orjson.dumps({"v": VERSION, "type": "batch", "batch": batch, "items": items, "stats": stats})


def error_frame(exc: FrameInvalid) -> bytes:
    """The error frame that answers a bad frame."""
    return encode(ErrorFrame(code=exc.code, message=exc.message))


def _load(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FrameInvalid("parse_error", f"the frame is not JSON: {exc}") from None


def _validate(adapter: TypeAdapter[Any], raw: str | bytes) -> Any:
    data = _load(raw)
    if not isinstance(data, dict):
        raise FrameInvalid("invalid_frame", f"a frame is a JSON object, not {type(data).__name__}")
    if data.get("v", VERSION) != VERSION:
        raise FrameInvalid(
            "unsupported_version", f"frame version {data.get('v')!r} is not supported (this side speaks 1)"
        )
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise FrameInvalid("invalid_frame", _describe(exc, data)) from None


def _describe(exc: ValidationError, data: dict[str, Any]) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        path = ".".join(str(part) for part in error["loc"])
        problems.append(f"{path or 'frame'}: {error['msg']}")
    kind = data.get("type")
    return f"bad {kind!r} frame: " + "; ".join(problems)
