"""`transom edge run` as a subprocess: starts from a site file, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from tests.edge.site_files import API_KEY, site, write_site

pytestmark = pytest.mark.slow

_URL = re.compile(r"on (http://127\.0\.0\.1:\d+)/api/engine/v2")


async def test_edge_run_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    data = site()
    data["modules"] = [m for m in data["modules"] if m["id"] == "mod-room"]
    data["systems"][0]["modules"] = ["mod-room"]
    data["settings"] = [s for s in data["settings"] if s["parent_id"] != "mod-display2"]
    config = write_site(tmp_path, data)
    command = [sys.executable, "-m", "cli", "edge", "run", "--data-dir", str(tmp_path / "node")]
    command += ["--config", str(config), "--listen", "127.0.0.1:0", "--node-id", "node-cli"]
    process = await trio.lowlevel.open_process(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    try:
        output = b""
        with trio.fail_after(30):
            while not _URL.search(output.decode()):
                chunk = await process.stdout.receive_some(4096)
                if not chunk:
                    stderr = await process.stderr.receive_some(65536)
                    raise AssertionError(f"exited early: {output.decode()} {stderr.decode()}")
                output += chunk
        match = _URL.search(output.decode())
        assert match is not None
        async with httpx.AsyncClient(base_url=match[1], headers={"x-api-key": API_KEY}) as client:
            with trio.fail_after(15):
                while True:
                    response = await client.post("/api/engine/v2/modules/mod-room/exec/ping", json=[])
                    if response.status_code == 200:
                        break
                    await trio.sleep(0.1)
            assert response.json() == "pong"
            health = (await client.get("/api/engine/v2/edge/health")).json()
            assert health["node_id"] == "node-cli"
            host_pid = health["hosts"][0]["pid"]
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(20):
            code = await process.wait()
        rest = output + await process.stdout.receive_some(65536)
        errors = await process.stderr.receive_some(65536)
        assert code == 0, errors.decode()
        assert b"stopped" in rest
        assert b"Traceback" not in errors
        with pytest.raises(ProcessLookupError):
            os.kill(host_pid, 0)  # the driver host went with the node
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_edge_run_with_bad_config_exits_2(tmp_path: Path) -> None:
    data = site()
    data["modules"][0]["port"] = 0
    config = write_site(tmp_path, data, "broken.json")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "edge",
            "run",
            "--data-dir",
            str(tmp_path / "n"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "broken.json: modules[0] (mod-display1): port" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
