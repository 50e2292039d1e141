"""`transom simulate` runs each simulator, rejects bad options clearly, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from typer.testing import CliRunner

from cli.main import app
from drivers.simulators.ups_snmpd import SNMPD
from tests.drivers.simulators.wire import Wire
from tests.servers.ports import free_port

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no simulator named 'nope'"),
        (["pjlink", "--fault", "explode"], "unknown --fault 'explode'"),
        (["hue", "--password", "x"], "--password applies to pjlink and extron, not hue"),
        (["pjlink", "--shell"], "--shell and --state apply to cisco-roomos only"),
        (["pjlink", "--port", "70000"], "--port 70000 is not a port number"),
        (["pjlink", "--delay", "-1"], "--delay -1.0 must not be negative"),
        (["ups-snmpd", "--fault", "drop"], "--fault and --delay do not apply"),
        (["cisco-roomos", "--shell"], "--shell needs --state FILE"),
    ],
)
def test_bad_options_are_clear_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", *args], env={"TRANSOM_ROOMOS_STATE": ""})
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


@asynccontextmanager
async def transom(*args: str) -> AsyncIterator[trio.Process]:
    """Run `transom simulate ARGS` until its banner is printed; Ctrl-C it at the end and check the exit."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "cli", "simulate", *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    stderr = bytearray()
    try:
        assert process.stderr is not None
        with trio.fail_after(10):
            while b"Ctrl-C" not in stderr:
                chunk = await process.stderr.receive_some(4096)
                assert chunk, f"simulator exited: {bytes(stderr).decode()}"
                stderr += chunk
        yield process
        process.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            while chunk := await process.stderr.receive_some(4096):
                stderr += chunk
            assert await process.wait() == 0
        assert b"Traceback" not in stderr and b"stopped" in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_pjlink_with_password_and_delay() -> None:
    port = free_port()
    args = ["--port", str(port), "--password", "secret", "--fault", "delay", "--delay", "0.05"]
    async with transom("pjlink", *args), Wire.open(port) as wire:
        assert (await wire.until(b"\r")).startswith(b"PJLINK 1 ")


async def test_extron_listens() -> None:
    port = free_port()
    async with transom("extron", "--port", str(port)), Wire.open(port) as wire:
        assert b"Extron Electronics" in await wire.until(b"\r\n")
        await wire.until(b"\r\n")
        await wire.send("1*2!")
        assert await wire.until(b"\r\n") == b"Out02 In01 All\r\n"


async def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await trio.run_process(
            [sys.executable, "-m", "cli", "simulate", "hue", "--port", str(port)],
            cwd=REPO, capture_stderr=True, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert b"cannot listen on 127.0.0.1:" in result.stderr and b"Traceback" not in result.stderr


async def test_cisco_shell_on_stdin(tmp_path: Path) -> None:
    result = await trio.run_process(
        [sys.executable, "-m", "cli", "simulate", "cisco-roomos", "--shell", "--state", str(tmp_path / "s")],
        cwd=REPO,
        stdin=b"echo off\nxStatus Audio Volume\nbye\n",
        capture_stdout=True,
    )
    assert result.stdout.endswith(b"OK\r\n*s Audio Volume: 50\r\n** end\r\n\r\nOK\r\nbye\r\n")


@pytest.mark.skipif(not os.path.exists(SNMPD), reason=f"Net-SNMP snmpd not installed at {SNMPD}")
@pytest.mark.servers
async def test_ups_snmpd_runs_snmpd(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    async with transom("ups-snmpd", "--port", str(port), "--dir", str(tmp_path)):
        for _ in range(50):
            result = await trio.run_process(
                ["/usr/bin/snmpget", "-v2c", "-c", "public", "-On", "-t", "0.2", "-r", "0",
                 f"127.0.0.1:{port}", ".1.3.6.1.2.1.33.1.4.1.0"],
                capture_stdout=True, capture_stderr=True, check=False, env={**os.environ, "MIBS": ""},
            )  # fmt: skip
            if result.returncode == 0:
                break
        assert result.stdout == b".1.3.6.1.2.1.33.1.4.1.0 = INTEGER: 3\n"
    assert (tmp_path / "snmpd.conf").exists()
