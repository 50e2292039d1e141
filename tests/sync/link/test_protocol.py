"""Link frames: round trips, strict validation with errors that name the field, versioning, sealing."""

from __future__ import annotations

import orjson
import pytest

import sync.link
from sync.link import (
    Ack,
    Batch,
    Exec,
    ExecFailed,
    FrameInvalid,
    Hello,
    Snapshot,
    edge_key_id,
    edge_settings_cipher,
    encode,
    encode_batch,
    error_frame,
    open_for_edge,
    parse_down,
    parse_up,
    reseal_for_edge,
)
from sync.model import SettingsCipher, is_encrypted, seal_settings


def test_frames_round_trip() -> None:
    hello = Hello(node_id="node-1", replica_revision=7, have={"systems": ["sys-1"]}, last_acked=3)
    assert parse_up(encode(hello)) == hello
    for frame in (
        Snapshot(revision=9, tables={"zones": [{"id": "zone-1"}]}, last=False, chunk=2),
        Exec(id="x1", module_id="mod-1", method="power", args=[True], role="admin", timeout=5),
        Ack(batch=4, last_seq=99),
    ):
        assert parse_down(encode(frame)) == frame


def test_a_batch_built_from_stored_json_parses() -> None:
    raw = encode_batch(
        3,
        [
            {
                "seq": 1,
                "kind": "status",
                "module_id": "mod-1",
                "key": "power",
                "at": 1.5,
                "value": orjson.Fragment(b'{"on":true}'),
            },
            {"seq": 2, "kind": "event", "module_id": "mod-1", "at": 1.6, "value": orjson.Fragment(b'"hi"')},
        ],
        {"depth": 2},
    )
    frame = parse_up(raw)
    assert isinstance(frame, Batch)
    assert [(i.seq, i.value) for i in frame.items] == [(1, {"on": True}), (2, "hi")]


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        (b"{not json", "parse_error", "not JSON"),
        (b"[1, 2]", "invalid_frame", "JSON object"),
        (b'{"v": 2, "type": "hello", "node_id": "n"}', "unsupported_version", "version 2"),
        (b'{"type": "hello"}', "invalid_frame", "hello.node_id"),
        (b'{"type": "bogus"}', "invalid_frame", "bogus"),
        (b'{"type": "hello", "node_id": "n", "extra": 1}', "invalid_frame", "hello.extra"),
        (
            b'{"type": "batch", "batch": 1, "items": [{"seq": 0, "kind": "status", "module_id": "m", '
            b'"at": 1}]}',
            "invalid_frame",
            "batch.items.0.seq",
        ),
        (b'{"type": "exec_result", "id": "x"}', "invalid_frame", "exec_result.ok"),
    ],
)
def test_bad_frames_name_the_problem(raw: bytes, code: str, words: str) -> None:
    with pytest.raises(FrameInvalid) as caught:
        parse_up(raw)
    assert caught.value.code == code
    assert words in caught.value.message
    answer = orjson.loads(error_frame(caught.value))
    assert answer == {"v": 1, "type": "error", "code": code, "message": caught.value.message}


def test_down_frames_are_checked_too() -> None:
    with pytest.raises(FrameInvalid, match=r"exec\.timeout"):
        parse_down(b'{"type": "exec", "id": "1", "module_id": "m", "method": "x", "timeout": 0}')
    with pytest.raises(FrameInvalid, match="hello"):
        parse_down(encode(Hello(node_id="n")))  # an up frame is not a down frame


def test_exec_failed_takes_only_known_errors() -> None:
    assert ExecFailed("access_denied", "no").error == "access_denied"
    with pytest.raises(ValueError, match="not an exec error"):
        ExecFailed("weird", "no")


def test_settings_are_resealed_for_one_edge() -> None:
    cloud = SettingsCipher(b"cloud secret" * 3)
    stored = seal_settings(
        {"id": "sets-1", "encryption_level": "admin", "settings_string": '{"password": "hunter2"}'}, cloud
    )
    key = "keys-abc.s3cret"
    sealed = reseal_for_edge(stored, edge_settings_cipher(key), cloud)
    assert is_encrypted(sealed["settings_string"]) and sealed["settings_string"] != stored["settings_string"]
    assert open_for_edge(sealed, edge_settings_cipher(key))["settings_string"] == '{"password": "hunter2"}'
    with pytest.raises(sync.model.SettingsDecryptionFailed):
        open_for_edge(sealed, edge_settings_cipher("keys-abc.other"))
    assert edge_key_id(key) == "keys-abc"


def test_the_link_package_exports_exactly_its_api() -> None:
    import types

    public = {
        name
        for name, value in vars(sync.link).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == set(sync.link.__all__)
    assert len(sync.link.__all__) == len(set(sync.link.__all__))
