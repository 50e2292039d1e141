"""The sync commands as a user meets them: `transom cloud edge-key`, the edge token API, bad options."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX, login
from tests.e2e.harness import ADMIN_PASSWORD, TRANSOM, Proc, free_port, start_cloud, wait_until

pytestmark = pytest.mark.slow


def _transom(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRANSOM, *args], capture_output=True, text=True, timeout=60, env={**env} or None)


def test_edge_key_needs_a_cloud_data_dir(tmp_path: Path) -> None:
    result = _transom("cloud", "edge-key", "Site B", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "transom cloud run" in result.stderr and "Traceback" not in result.stderr


async def test_edge_key_creates_the_edge_then_replaces_its_key(tmp_path: Path) -> None:
    port = free_port()
    cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
    assert await cloud.stop() == 0

    first = await trio.to_thread.run_sync(
        lambda: _transom("cloud", "edge-key", "Site B", "--data-dir", str(tmp_path / "cloud"))
    )
    assert first.returncode == 0, first.stderr
    assert "created edge 'Site B'" in first.stderr
    key = first.stdout.strip()
    edge_id = first.stderr.split("(", 1)[1].split(")", 1)[0]
    again = await trio.to_thread.run_sync(
        lambda: _transom("cloud", "edge-key", edge_id, "--data-dir", str(tmp_path / "cloud"))
    )
    assert again.returncode == 0 and "created" not in again.stderr
    new_key = again.stdout.strip()
    assert new_key != key

    cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
    url = f"http://127.0.0.1:{port}"
    token = await trio.to_thread.run_sync(login, url, "admin", ADMIN_PASSWORD)
    async with httpx.AsyncClient(base_url=url + PREFIX, headers={"authorization": f"Bearer {token}"}) as api:
        edge = (await api.get(f"/edges/{edge_id}")).json()
        assert edge["api_key_id"] == new_key.split(".")[0]
        assert (await api.get(f"/api_keys/{key.split('.')[0]}")).status_code == 404  # revoked

        created = await api.post("/edges", json={"name": "Site C"})
        assert created.status_code == 201 and created.json()["x_api_key"]
        rotated = await api.post(f"/edges/{created.json()['id']}/token")
        assert rotated.status_code == 200
        assert rotated.json()["token"] != created.json()["x_api_key"]
        assert rotated.json()["api_key_id"] == rotated.json()["token"].split(".")[0]
    await cloud.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cloud", "ftp://127.0.0.1:1", "--edge-key", "key-x.y"], "http(s)"),
        (["--cloud", "http://127.0.0.1:1"], "--edge-key"),
        (["--edge-key", "key-x.y"], "--cloud"),
        (["--cloud", "http://127.0.0.1:1", "--edge-key", "k", "--config", "site.yaml"], "exclusive"),
    ],
)
def test_edge_run_refuses_bad_sync_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = _transom("edge", "run", "--data-dir", str(tmp_path), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


async def test_a_node_that_never_synced_waits_for_the_cloud_saying_so(tmp_path: Path) -> None:
    command = [*TRANSOM, "edge", "run", "--data-dir", str(tmp_path / "node"), "--listen", "127.0.0.1:0"]
    command += ["--cloud", f"http://127.0.0.1:{free_port()}", "--edge-key", "key-0000000000.secret"]
    node = await Proc.start("edge node", command, tmp_path / "node.log")
    notice = "waiting for the cloud"
    await wait_until(lambda: notice in node.output(), seconds=30, what="the notice", proc=node)
    node.process.send_signal(signal.SIGTERM)
    with trio.fail_after(20):
        code = await node.process.wait()
    assert code == 0, node.output()
    assert "stopped" in node.output() and "Traceback" not in node.output()
    await node.stop()
