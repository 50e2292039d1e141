"""Host protocol framing: splits, bounds and garbage, in memory and against a real host."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from drivers.sdk import DeviceError, UnknownFunctionError
from edge.hosts.errors import FunctionRaisedError, ProtocolError, error_from_wire, error_to_wire
from edge.hosts.protocol import BATCH_ITEMS, FrameDecoder, FrameWriter, encode, encode_item

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.builds(lambda t, v: {"t": t, "v": v}, st.sampled_from(["exec", "status", "log"]), json_values)


def _decode_in_pieces(data: bytes, cuts: list[int], decoder: FrameDecoder) -> list[Any]:
    out: list[Any] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        out.extend(decoder.feed(data[start:cut]))
        start = max(start, cut)
    return out


@given(st.lists(messages, min_size=1, max_size=8), st.lists(st.integers(0, 2000), max_size=12))
def test_any_split_across_reads_decodes_the_same(batch: list[dict[str, Any]], cuts: list[int]) -> None:
    data = b"".join(encode(m) for m in batch)
    cuts = [c % (len(data) + 1) for c in cuts]
    decoder = FrameDecoder()
    assert _decode_in_pieces(data, cuts, decoder) == batch
    assert decoder.buffered == 0


@given(st.lists(st.integers(0, 200), max_size=6))
def test_an_oversize_frame_is_reported_and_skipped_however_it_arrives(cuts: list[int]) -> None:
    big = encode({"t": "exec", "blob": "x" * 150})
    data = encode({"t": "ping", "id": 1}) + big + encode({"t": "ping", "id": 2})
    cuts = [c % (len(data) + 1) for c in cuts]
    out = _decode_in_pieces(data, cuts, FrameDecoder(max_frame=100))
    assert out[0] == {"t": "ping", "id": 1}
    assert isinstance(out[1], ProtocolError) and "passes the bound of 100" in str(out[1])
    assert out[2] == {"t": "ping", "id": 2}
    assert len(out) == 3


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"{not json", "undecodable frame"),
        (b"[1, 2]", "must hold an object"),
        (b'{"t": 5}', "must hold an object"),
        (b"\xff\xfe", "undecodable frame"),
    ],
)
def test_garbage_frames_are_errors_and_the_next_frame_still_decodes(payload: bytes, says: str) -> None:
    data = len(payload).to_bytes(4, "big") + payload + encode({"t": "ping", "id": 7})
    bad, good = FrameDecoder().feed(data)
    assert isinstance(bad, ProtocolError) and says in str(bad)
    assert good == {"t": "ping", "id": 7}


def test_encode_refuses_what_it_cannot_send() -> None:
    with pytest.raises(ProtocolError, match="bound"):
        encode({"t": "result", "value": "x" * 200}, max_frame=100)
    with pytest.raises(ProtocolError, match="cannot encode"):
        encode({"t": "result", "value": object()})


def test_errors_cross_the_pipe_as_their_sdk_class_or_as_function_raised() -> None:
    unknown = error_from_wire(error_to_wire(UnknownFunctionError("no function 'x'")))
    assert type(unknown) is UnknownFunctionError and str(unknown) == "no function 'x'"
    assert type(error_from_wire(error_to_wire(DeviceError("ERR2")))) is DeviceError
    other = error_from_wire({"kind": "KeyError", "message": "power() raised KeyError: 'x'"})
    assert isinstance(other, FunctionRaisedError)
    assert other.kind == "KeyError" and str(other) == "power() raised KeyError: 'x'"
    assert isinstance(error_from_wire("nonsense"), ProtocolError)


class _Recorder(trio.abc.SendStream):
    """A stream that keeps what is written (each send_all separately)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        await trio.lowlevel.checkpoint()

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def _written(queue: Any) -> list[dict[str, Any]]:
    """What a FrameWriter writes for what `queue(writer)` queues, decoded frame by frame."""
    stream = _Recorder()
    writer = FrameWriter(stream)
    await queue(writer)
    writer.close()
    await writer.serve()
    out: list[dict[str, Any]] = []
    decoder = FrameDecoder()
    for data in stream.writes:
        out.extend(decoder.feed(data))
    return out


async def test_items_share_a_frame_until_another_frame_comes_between_them() -> None:
    async def queue(writer: FrameWriter) -> None:
        await writer.send_item("execs", encode_item([1, "a"], kind="exec"))
        await writer.send_item("execs", encode_item([2, "b"], kind="exec"))
        await writer.send({"t": "permit", "until": None})  # must stay between call 2 and call 3
        await writer.send_item("execs", encode_item([3, "c"], kind="exec"))
        await writer.send_item("results", encode_item([4, True, None], kind="result"))
        assert writer.send_nowait({"t": "debug"})
        await writer.send_item("results", encode_item([5, False, {"kind": "X"}], kind="result"))

    frames = await _written(queue)
    assert frames == [
        {"t": "execs", "items": [[1, "a"], [2, "b"]]},
        {"t": "permit", "until": None},
        {"t": "execs", "items": [[3, "c"]]},
        {"t": "results", "items": [[4, True, None]]},
        {"t": "debug"},
        {"t": "results", "items": [[5, False, {"kind": "X"}]]},
    ]


async def test_a_frame_being_written_takes_no_more_items_and_a_long_run_is_split() -> None:
    stream = _Recorder()
    writer = FrameWriter(stream)
    total = 2 * BATCH_ITEMS + 10
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.serve)
        await writer.send_item("execs", encode_item([0], kind="exec"))
        await writer.wait_idle()  # written: the next item starts a new frame
        for n in range(1, total):
            await writer.send_item("execs", encode_item([n], kind="exec"))
        await writer.wait_idle()
        writer.close()
    decoder = FrameDecoder()
    frames = [frame for data in stream.writes for frame in decoder.feed(data)]
    sizes = [len(frame["items"]) for frame in frames]
    assert sizes == [1, BATCH_ITEMS, BATCH_ITEMS, 9]
    assert [item[0] for frame in frames for item in frame["items"]] == list(range(total))


def test_an_item_that_cannot_be_sent_is_refused_by_itself() -> None:
    with pytest.raises(ProtocolError, match="cannot encode 'exec' message"):
        encode_item([1, object()], kind="exec")
    with pytest.raises(ProtocolError, match="'result' message is 101 bytes; the bound is 100"):
        encode_item([1, True, "x" * 90], kind="result", max_item=100)


async def test_a_real_host_refuses_a_bad_call_of_an_execs_frame_alone() -> None:
    process = await _raw_host()
    assert process.stdin is not None
    decoder, pending = FrameDecoder(), []
    try:
        with trio.fail_after(20):
            ready = await _next(process, decoder, pending)
            assert ready["t"] == "ready"
            start = {"t": "start", "id": 1, "module": {"id": "mod-1", "name": "Bench"}}
            await process.stdin.send_all(encode(start))
            assert (await _next(process, decoder, pending))["t"] == "started"
            calls = [
                [10, "mod-1", "echo", [1], "user", None],
                [11, "mod-1", "echo", 5, "user", None],  # args neither a list nor an object
                [12, "mod-1", "echo", ["two"], "user", None],
                [13, "mod-1"],  # too short
                [14, "mod-1", "fail", ["nope"], "user", None],
            ]
            await process.stdin.send_all(encode({"t": "execs", "items": calls}))
            answers: dict[Any, Any] = {}
            while len(answers) < 5:
                message = await _next(process, decoder, pending)
                if message["t"] == "error":
                    answers[message.get("id")] = message["message"]
                elif message["t"] == "results":
                    for request_id, ok, value in message["items"]:
                        answers[request_id] = (ok, value)
            assert answers[10] == (True, 1) and answers[12] == (True, "two")
            assert "args must be a list or an object" in answers[11]
            assert "bad 'execs' item: ValueError" in answers[13]
            assert answers[14][0] is False and "nope" in answers[14][1]["message"]
            await process.stdin.send_all(encode({"t": "shutdown"}))
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _raw_host() -> trio.Process:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path))
    return await trio.lowlevel.open_process(
        [sys.executable, "-m", "edge.hosts.process", "tests.edge.hosts.sample_drivers:Workbench"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


async def _next(process: trio.Process, decoder: FrameDecoder, pending: list[Any]) -> Any:
    assert process.stdout is not None
    while not pending:
        data = await process.stdout.receive_some(65536)
        assert data, "the host closed its stdout"
        pending.extend(decoder.feed(data))
    return pending.pop(0)


async def test_a_real_host_answers_bad_frames_with_errors_and_keeps_serving() -> None:
    process = await _raw_host()
    assert process.stdin is not None
    decoder, pending = FrameDecoder(), []
    try:
        with trio.fail_after(20):
            ready = await _next(process, decoder, pending)
            assert ready["t"] == "ready" and ready["pid"] == process.pid
            garbage = b"\x00\x00\x00\x05hello"
            oversize = (64 * 1024 * 1024).to_bytes(4, "big") + b"x" * 1000
            unknown = encode({"t": "teleport", "id": 3})
            missing = encode({"t": "exec", "id": 4})
            await process.stdin.send_all(garbage + unknown + missing + oversize)
            errors = [await _next(process, decoder, pending) for _ in range(4)]
            assert [e["t"] for e in errors] == ["error"] * 4
            texts = " | ".join(e["message"] for e in errors)
            assert "undecodable" in texts and "unknown message type 'teleport'" in texts
            assert "bad 'exec' message: KeyError" in texts and "passes the bound" in texts
            assert {e.get("id") for e in errors} >= {3, 4}
            # the rest of the oversize frame is skipped; then the host serves as before
            await process.stdin.send_all(b"y" * (64 * 1024 * 1024 - 1000) + encode({"t": "ping", "id": 9}))
            assert await _next(process, decoder, pending) == {"t": "pong", "id": 9}
            await process.stdin.send_all(encode({"t": "shutdown"}))
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_host_that_cannot_load_its_driver_says_why() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path))
    process = await trio.run_process(
        [sys.executable, "-m", "edge.hosts.process", "no.such.driver:Nothing"],
        stdin=subprocess.DEVNULL,
        capture_stdout=True,
        check=False,
        env=env,
    )
    assert process.returncode == 3
    (frame,) = FrameDecoder().feed(process.stdout)
    assert frame["t"] == "error" and frame["fatal"] is True
    assert "cannot import 'no.such.driver'" in frame["message"]
    assert orjson.loads(process.stdout[4:]) == frame
