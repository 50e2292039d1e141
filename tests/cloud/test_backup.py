"""`transom cloud backup` of a running cloud, restored into a fresh data directory, serves the same cloud.

Before: there was no backup or restore at all.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import httpx
import trio
from typer.testing import CliRunner

from cli.main import app
from cloud.server import serve_cloud

PASSWORD = "correct horse battery staple"
runner = CliRunner()


async def _token(client: httpx.AsyncClient) -> str:
    origin = str(client.base_url).split("/api/")[0]
    reply = await client.post(
        f"{origin}/auth/oauth/token",
        data={"grant_type": "password", "username": "admin", "password": PASSWORD},
    )
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


async def test_an_online_backup_restores_into_a_fresh_directory(tmp_path: Path) -> None:
    live, archive, restored = tmp_path / "live", tmp_path / "backup.tar.gz", tmp_path / "restored"
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            partial(serve_cloud, data_dir=live, listen="127.0.0.1:0", admin_password=PASSWORD)
        )
        async with httpx.AsyncClient(base_url=binds[0] + "/api/engine/v2") as client:
            headers = {"Authorization": f"Bearer {await _token(client)}"}
            created = [
                (await client.post("/systems", json={"name": f"Room {n}"}, headers=headers)).json()["id"]
                for n in range(5)
            ]
            # Backed up while the cloud is serving.
            result = await trio.to_thread.run_sync(
                lambda: runner.invoke(
                    app, ["cloud", "backup", "--data-dir", str(live), "--out", str(archive)]
                )
            )
            assert result.exit_code == 0, result.output
            late = (await client.post("/systems", json={"name": "After"}, headers=headers)).json()["id"]
        nursery.cancel_scope.cancel()

    again = runner.invoke(app, ["cloud", "backup", "--data-dir", str(live), "--out", str(archive)])
    assert again.exit_code == 2 and "exists" in again.output  # never overwritten
    result = runner.invoke(app, ["cloud", "restore", str(archive), "--data-dir", str(restored)])
    assert result.exit_code == 0, result.output
    over = runner.invoke(app, ["cloud", "restore", str(archive), "--data-dir", str(restored)])
    assert over.exit_code == 2 and "already holds a cloud" in over.output
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive")
    refused = runner.invoke(app, ["cloud", "restore", str(garbage), "--data-dir", str(tmp_path / "other")])
    assert refused.exit_code == 2 and "not a Transom backup" in refused.output

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve_cloud, data_dir=restored, listen="127.0.0.1:0"))
        async with httpx.AsyncClient(base_url=binds[0] + "/api/engine/v2") as client:
            headers = {"Authorization": f"Bearer {await _token(client)}"}  # the admin came back too
            ids = {s["id"] for s in (await client.get("/systems", headers=headers)).json()}
        nursery.cancel_scope.cancel()
    assert set(created) <= ids and late not in ids
