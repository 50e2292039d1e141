"""The edge link, both ends agree on it: frames, errors and how settings are sealed for an edge.

protocol.py   the frames (hello, batch, exec_result, health / hello_ok, snapshot, changes, exec, webhook, ack)
errors.py     LinkError, FrameInvalid, ExecFailed, EdgeKeyRejected
sealing.py    settings re-sealed under a key derived from the edge key
"""

from __future__ import annotations

from .errors import EXEC_ERRORS, EdgeKeyRejected, ExecFailed, LinkError
from .protocol import (
    VERSION,
    Ack,
    Batch,
    ChangeItem,
    Changes,
    ErrorFrame,
    Exec,
    ExecError,
    ExecResult,
    FrameInvalid,
    Health,
    Hello,
    HelloOk,
    Item,
    Snapshot,
    Webhook,
    encode,
    encode_batch,
    error_frame,
    parse_down,
    parse_up,
)
from .sealing import edge_key_id, edge_settings_cipher, open_for_edge, reseal_for_edge

__all__ = [
    "EXEC_ERRORS",
    "VERSION",
    "Ack",
    "Batch",
    "ChangeItem",
    "Changes",
    "EdgeKeyRejected",
    "ErrorFrame",
    "Exec",
    "ExecError",
    "ExecFailed",
    "ExecResult",
    "FrameInvalid",
    "Health",
    "Hello",
    "HelloOk",
    "Item",
    "LinkError",
    "Snapshot",
    "Webhook",
    "edge_key_id",
    "edge_settings_cipher",
    "encode",
    "encode_batch",
    "error_frame",
    "open_for_edge",
    "parse_down",
    "parse_up",
    "reseal_for_edge",
]
