"""RoomOS codec driver through a REAL OpenSSH sshd whose ForceCommand runs the codec shell simulator.

Each SSH session is its own `python -m drivers.simulators.cisco_roomos --shell` process
sharing the codec state in a JSON file; a change written to the file (another session,
the touch panel) reaches the driver as feedback.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
import trio

from drivers.sdk import DeviceError, TransportError
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.sdk.transports.asyncio_bridge import open_asyncio_loop
from drivers.simulators import cisco_roomos
from drivers.simulators.cisco_xapi import CodecState
from tests.drivers.cisco.test_roomos_codec_ssh import FAST_BACKOFF, QuietCodec
from tests.drivers.simulators.wire import wait_for
from tests.servers.sshd import SSHServer

pytestmark = pytest.mark.servers

REPO = Path(__file__).resolve().parents[3]
WAIT = 10.0  # each session starts a Python process


def codec_shell_command(state: Path) -> str:
    """The ForceCommand: the codec shell simulator on the session's stdin/stdout."""
    python, repo = shlex.quote(sys.executable), shlex.quote(str(REPO))
    return f"cd {repo} && exec {python} -m drivers.simulators.cisco_roomos --shell --state {state}"


def edit_state(path: Path, edit: Callable[[CodecState], object]) -> None:
    """Change the codec as another session would (under the shell's lock)."""
    with cisco_roomos._locked(path):
        state = cisco_roomos.load_state(path)
        edit(state)
        cisco_roomos.save_state(path, state)


def shell_processes(state: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(state) in " ".join(process.info["cmdline"] or []) and "--shell" in (
            process.info["cmdline"] or []
        ):
            found.append(process)
    return found


@asynccontextmanager
async def codec_via_sshd(
    make_sshd: Callable[..., SSHServer], tmp_path: Path, *, pty: bool
) -> AsyncIterator[tuple[ModuleHarness, Path]]:
    state = tmp_path / "codec.json"
    server = make_sshd(force_command=codec_shell_command(state))
    settings: dict[str, Any] = {
        "ssh": {
            "username": server.username,
            "keys": [str(server.client_key)],
            "known_hosts": str(server.known_hosts),
            "pty": pty,
        }
    }
    async with (
        open_asyncio_loop(),
        open_test_module(
            QuietCodec, ip=server.host, port=server.port, settings=settings, backoff=FAST_BACKOFF
        ) as module,
    ):
        with trio.fail_after(WAIT):
            await module.wait_status("in_call")  # logged in, JSON mode, first poll done
        yield module, state


@pytest.mark.parametrize("pty", [True, False], ids=["pty", "no-pty"])
async def test_every_function_through_sshd(
    make_sshd: Callable[..., SSHServer], tmp_path: Path, pty: bool
) -> None:
    async with codec_via_sshd(make_sshd, tmp_path, pty=pty) as (module, state):
        assert module.status["name"] == "Transom Room" and module.status["volume"] == 50
        await module.exec("volume", 70)
        assert cisco_roomos.load_state(state).volume == 70
        await module.exec("volume_down")
        assert await module.exec("query_volume") == 65

        assert await module.exec("dial", "5678@example.com", "Sip") == {"call_id": 1, "conference_id": 1}
        assert module.status["calls"][0]["remote_number"] == "5678@example.com"
        await module.exec("disconnect_call", 1)
        assert module.status["in_call"] is False
        with pytest.raises(DeviceError, match="No active call"):
            await module.exec("disconnect_call")

        await module.exec("presentation_start", 1)
        assert cisco_roomos.load_state(state).presentation == "Sending"
        await module.exec("presentation_stop")
        await module.exec("standby", True)
        assert cisco_roomos.load_state(state).standby == "Standby" and module.status["power"] is False
        await module.exec("power", True)
        assert await module.exec("query_standby") == "Off"
        assert await module.exec("poll") is None


async def test_feedback_and_reconnect_through_sshd(
    make_sshd: Callable[..., SSHServer], tmp_path: Path
) -> None:
    async with codec_via_sshd(make_sshd, tmp_path, pty=True) as (module, state):
        edit_state(state, lambda s: setattr(s, "volume", 15))  # another session, the touch panel
        with trio.fail_after(WAIT):
            await module.wait_status("volume", 15)
        edit_state(state, lambda s: setattr(s, "standby", "Standby"))
        with trio.fail_after(WAIT):
            await module.wait_status("standby", True)

        [shell] = shell_processes(state)
        shell.kill()  # the codec ends the session
        with pytest.raises(TransportError):
            await module.exec("query_volume")
        with trio.fail_after(WAIT):
            await wait_for(lambda: len(shell_processes(state)) == 1)
            await module.wait_status("session", "ready")
        edit_state(state, lambda s: setattr(s, "volume", 25))
        with trio.fail_after(WAIT):
            await module.wait_status("volume", 25)  # feedback registered on the new session
