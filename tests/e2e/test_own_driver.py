"""README's "Your own driver, end to end", followed step by step with real processes.

The driver and its test are the README's own code blocks, saved where the README says
(`acme_drivers/display.py`) outside this repository; the "device" is a line server in the
test process speaking the README driver's protocol. Steps: its test passes under pytest with
the README's trio-mode setting; `transom driver run` powers the device; the cloud (given the
package) registers the driver and fills its metadata; a module on the edge (given the
package) reaches the device; the cloud shows it connected and calls it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX, login
from tests.e2e.harness import ADMIN_PASSWORD, TRANSOM, free_port, start_cloud, start_node, wait_until

pytestmark = pytest.mark.slow

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return [re.sub(r"^   ", "", b, flags=re.M) for b in re.findall(rf"```{language}\n(.*?)```", README, re.S)]


class AcmeDevice:
    """A display speaking the README driver's line protocol: POWER ON/OFF answer OK, POWER? ON/OFF."""

    def __init__(self) -> None:
        self.power = False

    async def serve(self, stream: trio.SocketStream) -> None:
        buffer = b""
        try:
            async for data in stream:
                buffer += data
                while b"\r\n" in buffer:
                    line, buffer = buffer.split(b"\r\n", 1)
                    await stream.send_all(self._answer(line.decode()).encode() + b"\r\n")
        except trio.BrokenResourceError:
            pass

    def _answer(self, command: str) -> str:
        if command in ("POWER ON", "POWER OFF"):
            self.power = command == "POWER ON"
            return "OK"
        if command == "POWER?":
            return "ON" if self.power else "OFF"
        return "ERR unknown command"


def _package(root: Path) -> Path:
    """The README's driver, test and pytest setting, saved as the README says."""
    driver, test = _blocks("python")[:2]
    (toml,) = [b for b in _blocks("toml") if "trio_mode" in b]
    (root / "acme_drivers").mkdir(parents=True)
    (root / "acme_drivers" / "__init__.py").write_text("")
    (root / "acme_drivers" / "display.py").write_text(driver)
    (root / "tests").mkdir()
    (root / "tests" / "test_display.py").write_text(test)
    (root / "pyproject.toml").write_text(toml)
    return root


async def test_write_run_register_and_use_your_own_driver(tmp_path: Path) -> None:
    package = _package(tmp_path / "acme-drivers")
    env = {"PYTHONPATH": str(package)}

    # 1. Its test passes, outside this repository, with the README's pytest setting.
    tested = await trio.run_process(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/"],
        cwd=package,
        env={**os.environ, **env},
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout.decode() + tested.stderr.decode()
    assert b"1 passed" in tested.stdout

    device = AcmeDevice()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, device.serve, 0, host="127.0.0.1"))
        device_port = listeners[0].socket.getsockname()[1]

        # 2. `transom driver run` against the device: a typed call reaches it.
        run = [*TRANSOM, "driver", "run", "acme_drivers.display:AcmeDisplay", "--ip", "127.0.0.1"]
        process = await trio.lowlevel.open_process(
            [*run, "--port", str(device_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env, "COLUMNS": "200"},
        )
        output = await _session(process, "power true", until="power = true")
        assert "-> null" in output and "Traceback" not in output
        assert device.power is True

        # 3-5. The cloud and the node, each given the package; register, place, watch, call.
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud = await start_cloud(tmp_path / "cloud", port, tmp_path, env=env)
        token = await trio.to_thread.run_sync(login, cloud_url, "admin", ADMIN_PASSWORD)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=cloud_url + PREFIX, headers=headers, timeout=30) as api:
            edge = await api.post("/edges", json={"name": "Acme site"})
            assert edge.status_code == 201, edge.text
            driver = await api.post(
                "/drivers", json={"name": "Acme LX", "file_name": "acme_drivers.display:AcmeDisplay"}
            )
            assert driver.status_code == 201, driver.text
            assert driver.json()["default_port"] == 4999
            assert "power" in driver.json()["functions"]
            module = await api.post(
                "/modules",
                json={
                    "driver_id": driver.json()["id"],
                    "ip": "127.0.0.1",
                    "port": device_port,
                    "edge_id": edge.json()["id"],
                },
            )
            assert module.status_code == 201, module.text
            module_id = module.json()["id"]
            node, _ = await start_node(
                tmp_path / "node", cloud_url, edge.json()["x_api_key"], tmp_path / "node.log", env=env
            )

            async def shown() -> dict[str, Any] | None:
                answer = await api.get(f"/modules/{module_id}")
                return answer.json() if answer.status_code == 200 and answer.json()["connected"] else None

            record = await wait_until(shown, seconds=60, what="the module connected in the cloud", proc=node)
            assert record["site_state"]["state"] == "running"
            off = await api.post(f"/modules/{module_id}/exec/power", json=[False])
            assert off.status_code == 200, off.text
            assert device.power is False

            async def power_off_in_the_cloud() -> bool:
                state = await api.get(f"/modules/{module_id}/state")
                return state.status_code == 200 and state.json().get("power") in (False, "false")

            await wait_until(power_off_in_the_cloud, seconds=30, what="power false in the cloud's state")
            assert await node.stop() == 0
        assert await cloud.stop() == 0
        nursery.cancel_scope.cancel()


async def _session(process: trio.Process, line: str, *, until: str) -> str:
    """Type `line` once the module is connected; read until `until`; end the input; the whole output."""
    assert process.stdin is not None and process.stdout is not None
    output = ""
    try:
        with trio.fail_after(60):
            while "connected = true" not in output:
                data = await process.stdout.receive_some(65536)
                assert data, f"driver run ended early:\n{output}"
                output += data.decode()
            await process.stdin.send_all(line.encode() + b"\n")
            while until not in output:
                data = await process.stdout.receive_some(65536)
                assert data, f"driver run ended before {until!r}:\n{output}"
                output += data.decode()
            await process.stdin.aclose()
            # The call's own answer can come after the status line it caused: read to the end.
            while data := await process.stdout.receive_some(65536):
                output += data.decode()
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return output
