"""Enrolment against a real cloud process: tokens (CLI and API), the exchange, refusals, revocation.

The node's side is `image.device.enrolment` as the device runs it (its data folder is a
temporary one); the cloud is `transom cloud run`; the node's key is then used by a real
`transom edge run` on the edge link, and revoking the node closes that link.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX, login
from image.device import enrolment
from image.device.enrolment import EnrolmentFile, EnrolmentFileInvalid, EnrolmentRefused
from sync.enrolment import ENROL_PATH, MAX_REQUEST_BYTES, Refusal
from tests.e2e.harness import ADMIN_PASSWORD, TRANSOM, Proc, free_port, start_cloud, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def node_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "node"
    monkeypatch.setattr(enrolment, "NODE_DIR", folder)
    return folder


def _enrol(url: str, token: str, esp_file: Path) -> dict[str, str]:
    esp_file.write_text(f"[enrolment]\ncloud = {url}\ntoken = {token}\n")
    found = enrolment.read_file(esp_file)
    assert found is not None
    return enrolment.enrol(found, esp_file=esp_file)


async def test_tokens_enrol_nodes_then_are_refused_and_nodes_can_be_revoked(
    tmp_path: Path, node_dir: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
    issued = await trio.to_thread.run_sync(
        lambda: subprocess.run(
            [
                *TRANSOM,
                "cloud",
                "enrol-token",
                "--site",
                "Site E",
                "--uses",
                "2",
                "--expires",
                "1h",
                "--data-dir",
                str(tmp_path / "cloud"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert "Site E" in issued.stderr and token.startswith("enr-")
    esp_file = tmp_path / "enrolment.conf"

    first = await trio.to_thread.run_sync(_enrol, url, token, esp_file)
    assert first["edge_name"] == "Site E" and first["node_id"] == enrolment.node_id()
    assert "token = \n" in esp_file.read_text() or "token =\n" in esp_file.read_text()  # spent: removed
    assert (node_dir / "enrolled.json").stat().st_mode & 0o077 == 0
    node_dir.joinpath("identity.json").unlink()  # a second machine: a new node id, same token
    second = await trio.to_thread.run_sync(_enrol, url, token, esp_file)
    assert second["node_id"] != first["node_id"] and second["edge_id"] == first["edge_id"]
    node_dir.joinpath("identity.json").unlink()
    with pytest.raises(EnrolmentRefused, match=Refusal.TOKEN_USED.message):
        await trio.to_thread.run_sync(_enrol, url, token, esp_file)

    bearer = await trio.to_thread.run_sync(login, url, "admin", ADMIN_PASSWORD)
    async with httpx.AsyncClient(base_url=url + PREFIX, headers={"authorization": f"Bearer {bearer}"}) as api:
        expiring = (
            await api.post("/enrolment_tokens", json={"site": first["edge_id"], "expires": "1s"})
        ).json()
        revoked = (await api.post("/enrolment_tokens", json={"site": "Site E", "uses": 3})).json()
        assert (await api.delete(f"/enrolment_tokens/{revoked['id']}")).status_code == 204
        listed = (await api.get(f"/edges/{first['edge_id']}/nodes")).json()
        assert sorted(n["node_id"] for n in listed["nodes"]) == sorted([first["node_id"], second["node_id"]])
        assert [p["id"] for p in listed["pending"]] == [expiring["id"]] or listed["pending"] == []
        bad = await api.post("/enrolment_tokens", json={"site": "Site E", "uses": 0})
        assert bad.status_code == 400 and "uses" in bad.json()["message"]
    await wait_until(
        lambda: _expired(url, bearer, expiring["id"]), seconds=30, what="the 1 s token to expire"
    )
    with pytest.raises(EnrolmentRefused, match=Refusal.TOKEN_EXPIRED.message):
        await trio.to_thread.run_sync(_enrol, url, expiring["token"], esp_file)
    with pytest.raises(EnrolmentRefused, match=Refusal.TOKEN_REVOKED.message):
        await trio.to_thread.run_sync(_enrol, url, revoked["token"], esp_file)
    with pytest.raises(EnrolmentRefused, match=Refusal.TOKEN_UNKNOWN.message):
        await trio.to_thread.run_sync(_enrol, url, "enr-AAAAAAAAAA." + "x" * 32, esp_file)

    # The node's own key opens the edge link; revoking the node closes it and refuses it after.
    node = await Proc.start(
        "edge node",
        [
            *TRANSOM,
            "edge",
            "run",
            "--data-dir",
            str(tmp_path / "state"),
            "--listen",
            "127.0.0.1:0",
            "--node-id",
            first["node_id"],
            "--cloud",
            url,
        ],
        tmp_path / "node.log",
        {"TRANSOM_EDGE_KEY": first["edge_key"]},
    )
    await wait_until(
        lambda: _state(url, bearer, first, "online"), seconds=60, what="the node online", proc=node
    )
    async with httpx.AsyncClient(base_url=url + PREFIX, headers={"authorization": f"Bearer {bearer}"}) as api:
        gone = await api.delete(f"/edges/{first['edge_id']}/nodes/{first['node_id']}")
        assert gone.status_code == 204
        assert (await api.delete(f"/edges/{first['edge_id']}/nodes/{first['node_id']}")).status_code == 404
    await wait_until(lambda: _state(url, bearer, first, "revoked"), seconds=60, what="the node revoked")
    await wait_until(
        lambda: "not valid" in node.output() or "refused" in node.output() or _offline(url, bearer, first),
        seconds=60,
        what="the revoked node's link closed",
    )
    await node.stop()
    await cloud.stop()


async def _expired(url: str, bearer: str, token_id: str) -> bool:
    async with httpx.AsyncClient(base_url=url + PREFIX, headers={"authorization": f"Bearer {bearer}"}) as api:
        tokens = (await api.get("/enrolment_tokens")).json()
    return any(t["id"] == token_id and t["state"] == "expired" for t in tokens)


async def _state(url: str, bearer: str, record: dict[str, str], state: str) -> bool:
    async with httpx.AsyncClient(base_url=url + PREFIX, headers={"authorization": f"Bearer {bearer}"}) as api:
        listed: dict[str, Any] = (await api.get(f"/edges/{record['edge_id']}/nodes")).json()
    return any(n["node_id"] == record["node_id"] and n["state"] == state for n in listed["nodes"])


async def _offline(url: str, bearer: str, record: dict[str, str]) -> bool:
    async with httpx.AsyncClient(base_url=url + PREFIX, headers={"authorization": f"Bearer {bearer}"}) as api:
        edge = (await api.get(f"/edges/{record['edge_id']}")).json()
    return not edge.get("online")


async def test_bad_enrolment_requests_get_clear_errors(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
    async with httpx.AsyncClient(base_url=url) as client:
        garbage = await client.post(ENROL_PATH, content=b"{not json")
        assert garbage.status_code == 400 and garbage.json()["error"] == "bad_request"
        huge = await client.post(ENROL_PATH, content=b"x" * (MAX_REQUEST_BYTES + 1))
        assert huge.status_code == 413
        bad_id = await client.post(
            ENROL_PATH, json={"token": "t", "node_id": "../etc", "public_key": "", "signature": ""}
        )
        assert bad_id.status_code == 400 and "node_id" in bad_id.json()["message"]
        malformed = await client.post(
            ENROL_PATH, json={"token": "nope", "node_id": "n1", "public_key": "", "signature": ""}
        )
        assert malformed.json()["error"] == "token_malformed"
        anonymous = await client.post(PREFIX + "/enrolment_tokens", json={"site": "x"})
        assert anonymous.status_code == 401
    await cloud.stop()


def test_plain_http_is_refused_off_loopback_unless_allowed() -> None:
    with pytest.raises(EnrolmentFileInvalid, match="plain HTTP"):
        enrolment.check_url(EnrolmentFile("http://10.1.2.3:8080", "t", "", False))
    enrolment.check_url(EnrolmentFile("http://10.1.2.3:8080", "t", "", True))
    enrolment.check_url(EnrolmentFile("http://127.0.0.1:8080", "t", "", False))
    with pytest.raises(EnrolmentFileInvalid, match="http"):
        enrolment.check_url(EnrolmentFile("ftp://cloud.example", "t", "", False))
