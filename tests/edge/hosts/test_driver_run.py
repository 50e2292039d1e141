"""`transom driver run` against a trio TCP "device": live status, calls, errors, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import trio

from cli.commands.driver_run import BadCallError, parse_call

SAMPLE = Path(__file__).with_name("sample_drivers.py")


async def _device(stream: trio.SocketStream) -> None:
    """Greets with its input, answers `power=on` lines like a display would."""
    await stream.send_all(b"input=hdmi1\n")
    buffer = b""
    async for data in stream:
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            await stream.send_all(line + b"\n")


class Session:
    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.output = ""

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(line.encode() + b"\n")

    async def expect(self, text: str) -> None:
        assert self.process.stdout is not None
        with trio.fail_after(20):
            while text not in self.output:
                data = await self.process.stdout.receive_some(65536)
                assert data, f"the session ended before printing {text!r}:\n{self.output}"
                self.output += data.decode()


async def _start(port: int, *extra: str) -> Session:
    command = [sys.executable, "-m", "cli", "driver", "run", f"{SAMPLE}:LineDisplay"]
    command += ["--ip", "127.0.0.1", "--port", str(port), *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p or os.getcwd() for p in sys.path), COLUMNS="200")
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    return Session(process)


@pytest.mark.parametrize("mode", [[], ["--in-process"]])
async def test_run_shows_status_live_and_calls_functions(mode: list[str]) -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, _device, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        session = await _start(port, *mode, "--setting", "volume=30")
        try:
            await session.expect('input = "hdmi1"')
            await session.expect("connected = true")
            await session.send("power true")
            await session.expect('-> "on"')
            await session.expect('power = "on"')
            await session.send("add(2, 3)")
            await session.expect("-> 5")
            await session.send('{"method": "add", "args": {"a": 40, "b": 2}}')
            await session.expect("-> 42")
            await session.send("broken")
            await session.expect("error: broken() raised RuntimeError: the driver has a bug")
            await session.send("warp 9")
            await session.expect("error: UnknownFunctionError: LineDisplay has no function 'warp'")
            await session.send("add(1, two)")
            await session.expect("error: the arguments of add() are not JSON values")
            session.process.send_signal(signal.SIGINT)
            with trio.fail_after(20):
                code = await session.process.wait()
            await session.expect("stopped")
            assert code == 0, session.output
            assert "Traceback (most recent call last)" not in session.output.split("RuntimeError")[-1]
        finally:
            if session.process.returncode is None:
                session.process.kill()
                await session.process.wait()
        nursery.cancel_scope.cancel()


async def test_run_ends_at_end_of_input_and_bad_targets_are_clear() -> None:
    result = await trio.run_process(
        [sys.executable, "-m", "cli", "driver", "run", "no.such.driver", "--ip", "127.0.0.1"],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert result.returncode == 2
    assert b"cannot import 'no.such.driver'" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("line", "call"),
    [
        ("power true", ("power", [True])),
        ("power(true)", ("power", [True])),
        ("input 'hdmi 1' 3", ("input", ["hdmi 1", 3])),
        ('{"method": "power", "args": [false]}', ("power", [False])),
        ('{"method": "volume", "args": {"level": 3}}', ("volume", {"level": 3})),
        ("poll", ("poll", [])),
    ],
)
def test_calls_parse_in_every_form(line: str, call: tuple[str, object]) -> None:
    assert parse_call(line) == call


@pytest.mark.parametrize("line", ["{oops", '{"args": []}', "9lives", "power(true", "x('unclosed"])
def test_bad_calls_are_refused(line: str) -> None:
    with pytest.raises(BadCallError):
        parse_call(line)
