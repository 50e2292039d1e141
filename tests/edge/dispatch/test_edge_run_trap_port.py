"""`transom edge run --trap-port`: traps are received there; a port it cannot bind exits 2, clearly."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from tests.edge.site_files import API_KEY, site, write_site
from tests.servers.ports import free_port

pytestmark = pytest.mark.slow

_URL = re.compile(rb"on (http://127\.0\.0\.1:\d+)/api/engine/v2")


def command(tmp_path: Path, trap_port: int) -> list[str]:
    data = site()
    data["modules"] = [m for m in data["modules"] if m["id"] == "mod-room"]
    data["systems"][0]["modules"] = ["mod-room"]
    data["settings"] = [s for s in data["settings"] if s["parent_id"] != "mod-display2"]
    config = write_site(tmp_path, data)
    return [sys.executable, "-m", "cli", "edge", "run", "--data-dir", str(tmp_path / "node"),
            "--config", str(config), "--listen", "127.0.0.1:0", "--trap-port", str(trap_port)]  # fmt: skip


async def test_the_node_listens_on_the_trap_port(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    process = await trio.lowlevel.open_process(
        command(tmp_path, port), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        seen = b""
        with trio.fail_after(60):
            while not (found := _URL.search(seen)):
                chunk = await process.stdout.receive_some()
                assert chunk, f"edge run exited: {seen!r}"
                seen += chunk
        async with httpx.AsyncClient(base_url=found.group(1).decode()) as client:
            health = await client.get("/api/engine/v2/edge/health", headers={"x-api-key": API_KEY})
        assert health.json()["dispatch"]["trap_port"] == port
    finally:
        process.send_signal(signal.SIGTERM)
        with trio.move_on_after(30):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_trap_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = subprocess.run(command(tmp_path, port), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"cannot listen for SNMP traps on udp 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
