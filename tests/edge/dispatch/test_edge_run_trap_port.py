"""`transom edge run --trap-port`: traps are received there, garbage is counted and logged boundedly;
a port it cannot bind exits 2, clearly."""

from __future__ import annotations

import random
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from drivers.simulators import ups_snmpd
from tests.drivers.ups.agent import QUIET
from tests.edge.dispatch.traffic import garbage
from tests.edge.node_harness import wait_for
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


async def test_the_node_listens_on_the_trap_port_and_counts_garbage_with_a_bounded_log(
    tmp_path: Path,
) -> None:
    port = free_port(socket.SOCK_DGRAM)
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        process = await trio.lowlevel.open_process(
            command(tmp_path, port), stdout=subprocess.PIPE, stderr=stderr
        )
    try:
        assert process.stdout is not None
        seen = b""
        with trio.fail_after(60):
            while not (found := _URL.search(seen)):
                chunk = await process.stdout.receive_some()
                assert chunk, f"edge run exited: {seen!r}"
                seen += chunk
        async with httpx.AsyncClient(
            base_url=found.group(1).decode(), headers={"x-api-key": API_KEY}
        ) as client:

            async def traps() -> dict[str, int]:
                health = (await client.get("/api/engine/v2/edge/health")).json()["dispatch"]
                assert health["trap_port"] == port
                return dict(health["traps"])

            assert (await traps())["received"] == 0
            lines_before = _dispatch_lines(log.read_text())
            # the 506 garbage datagrams, from three addresses, and a wrong-community trap
            rng = random.Random(22)
            sent = [garbage(rng) for _ in range(506)]
            sources = ["127.0.0.1", "127.0.0.7", "127.0.0.8"]
            for n, source in enumerate(sources):
                with trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as sock:
                    await sock.bind((source, 0))
                    for data in sent[n::3]:
                        await sock.sendto(data, ("127.0.0.1", port))
            intruder = ups_snmpd.trap_command(port, ups_snmpd.UpsState(), community="intruder")
            await trio.run_process(intruder, env=QUIET, capture_stdout=True, capture_stderr=True)

            async def all_counted() -> bool:
                return (await traps())["received"] == len(sent) + 1

            await wait_for(all_counted, 30)
            counted = await traps()
            outcomes = ("rate_limited", "malformed", "wrong_community", "unknown_source", "routed")
            assert sum(counted[outcome] for outcome in outcomes) == len(sent) + 1
            assert counted["malformed"] >= sum(1 for data in sent if not data or data[0] != 0x30)
            assert counted["wrong_community"] >= 1 and counted["routed"] == counted["delivered"] == 0
        written = log.read_text()
        assert "Traceback" not in written
        # at most one line per kind of trouble (malformed, wrong community, unknown) per source
        # (the access log's lines for this test's own health requests are not dispatch's)
        assert _dispatch_lines(written) - lines_before <= 3 * len(sources), written
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


def _dispatch_lines(log: str) -> int:
    """Lines in the node's log other than the access log's (one per HTTP request)."""
    return sum(1 for line in log.splitlines() if "transom.access" not in line)
