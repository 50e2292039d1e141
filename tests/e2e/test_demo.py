"""`transom demo` as a user runs it: the printed curl powers room 1's display, Ctrl-C stops all, re-runs."""

from __future__ import annotations

import json
import re
import signal
import socket
from pathlib import Path

import httpx
import psutil
import pytest
import trio

from tests.e2e.harness import TRANSOM, Proc, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

READY = "Transom demo is running"
EXEC = re.compile(r"-d '\[true\]' (http://\S+/Display_1/power)")


def _port_pair() -> int:
    """A port P with P and P + 1 free on the loopback."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise AssertionError("no two adjacent free ports")


def _leftovers(data_dir: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline:
            found.append(cmdline)
    return found


async def _run_demo(tmp_path: Path, data_dir: Path, log_name: str) -> tuple[Proc, str]:
    port = _port_pair()
    command = [*TRANSOM, "demo", "--port", str(port), "--data-dir", str(data_dir)]
    demo = await Proc.start("transom demo", command, tmp_path / log_name)
    await wait_until(lambda: READY in demo.output(), seconds=180, what="the demo ready", proc=demo)
    found = EXEC.search(demo.output())
    assert found is not None, demo.output()
    return demo, found[1]


async def _interrupt(demo: Proc) -> None:
    demo.process.send_signal(signal.SIGINT)
    with trio.fail_after(90):
        code = await demo.process.wait()
    assert code == 0, demo.tail()
    assert "Traceback" not in demo.output()
    await demo.stop()


async def test_demo_runs_powers_a_display_through_the_cloud_stops_and_reruns(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    demo, exec_url = await _run_demo(tmp_path, data_dir, "demo-1.log")
    credentials = json.loads((data_dir / "demo-credentials.json").read_text())
    assert credentials["admin_user"] == "admin" and credentials["admin_password"] in demo.output()
    key = credentials["api_key"]
    assert key in demo.output()
    async with httpx.AsyncClient(headers={"x-api-key": key}, timeout=30) as client:
        powered = await client.post(exec_url, json=[True])
        assert powered.status_code == 200, powered.text
        power = exec_url  # GET .../Display_1/power reads the status

        async def is_on() -> bool:
            return (await client.get(power)).json() is True

        await wait_until(is_on, seconds=20, what="Display_1 power true in the cloud", proc=demo)
    await _interrupt(demo)
    assert not _leftovers(data_dir)

    # A second run on the same data reuses the records and keys.
    demo, second_url = await _run_demo(tmp_path, data_dir, "demo-2.log")
    again = json.loads((data_dir / "demo-credentials.json").read_text())
    assert again["api_key"] == key and again["edge_id"] == credentials["edge_id"]
    assert second_url.split("/systems/")[1] == exec_url.split("/systems/")[1]  # the same room
    await _interrupt(demo)
    assert not _leftovers(data_dir)
