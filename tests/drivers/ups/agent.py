"""A REAL Net-SNMP snmpd serving the UPS simulator's RFC 1628 values, which a test can pause and restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from drivers.simulators import ups_snmpd
from drivers.simulators.base import Simulator
from tests.servers.ports import free_port
from tests.servers.process import require_binary

SNMPGET = "/usr/bin/snmpget"
# snmpd answers within a second or two of starting; ten means it is broken.
START_TIMEOUT = 10.0
QUIET = {**os.environ, "MIBS": ""}  # no MIB files: numeric OIDs, no load warnings


class UpsAgent(Simulator):
    """snmpd with the UPS simulator's config (v2c `public`; v3 authPriv user `transom`).

    A Simulator only so `hosted_module` can run a driver against it: `serve` reports the
    agent's UDP port. `state` is the JSON file the values come from (ups_snmpd.update_state).
    """

    def __init__(self, directory: Path) -> None:
        super().__init__()
        require_binary(ups_snmpd.SNMPD, package="snmpd")
        require_binary(ups_snmpd.SNMPTRAP, package="snmp")
        self.config = ups_snmpd.write_config(directory, free_port(socket.SOCK_DGRAM))
        self.port = self.config.port
        self.process: trio.Process | None = None

    @property
    def state(self) -> Path:
        return self.config.state

    def snmp_settings(self, **changes: Any) -> dict[str, Any]:
        """Module settings for v2c with short timeouts (changes override)."""
        return {"snmp": {"version": "2c", "community": self.config.community, "timeout": 0.3, "retries": 0,
                         **changes}}  # fmt: skip

    def v3_settings(self, **changes: Any) -> dict[str, Any]:
        """Module settings for v3 authPriv (SHA, AES) with short timeouts (changes override)."""
        credentials = {
            "user": self.config.v3_user,
            "auth_key": self.config.auth_password,
            "priv_key": self.config.priv_password,
        }
        return self.snmp_settings(version="3", **{**credentials, **changes})

    async def start(self) -> None:
        """Start snmpd (again, on the same port) and wait until it answers."""
        self.process = await trio.lowlevel.open_process(
            ups_snmpd.snmpd_command(self.config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with trio.fail_after(START_TIMEOUT):
            while not await self._answers():
                if self.process.poll() is not None:
                    raise RuntimeError(f"snmpd exited with status {self.process.returncode}")
                await trio.sleep(0.05)

    async def _answers(self) -> bool:
        probe = [SNMPGET, "-v2c", "-c", self.config.community, "-t", "0.2", "-r", "0", "-On",
                 f"127.0.0.1:{self.port}", f".{ups_snmpd.UPS_MIB}.1.2.1.0"]  # fmt: skip
        done = await trio.run_process(probe, capture_stdout=True, capture_stderr=True, check=False, env=QUIET)
        return b"INTEGER" in done.stdout

    def pause(self) -> None:
        """SIGSTOP: the agent stays bound but answers nothing (a hung or unplugged UPS card)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    async def stop(self) -> None:
        """Stop snmpd (even when paused) and wait for it to exit."""
        process, self.process = self.process, None
        if process is None:
            return
        with trio.CancelScope(shield=True):
            process.send_signal(signal.SIGCONT)
            process.terminate()
            with trio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def serve(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        task_status.started(self.config.port)
        await trio.sleep_forever()


@asynccontextmanager
async def running_agent(directory: Path) -> AsyncIterator[UpsAgent]:
    agent = UpsAgent(directory)
    await agent.start()
    try:
        yield agent
    finally:
        await agent.stop()
