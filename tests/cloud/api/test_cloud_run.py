"""`transom cloud run` as a process: refuses to start without a first-admin password, serves, stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

TRANSOM = [sys.executable, "-m", "cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TRANSOM_ADMIN_PASSWORD"}
    env.update(extra)
    return env


def test_refuses_to_start_without_admin_password(tmp_path: Path) -> None:
    result = subprocess.run(
        [*TRANSOM, "cloud", "run", "--data-dir", str(tmp_path / "d"), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert result.returncode == 2
    assert "--admin-password" in result.stderr and "TRANSOM_ADMIN_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_listen_address_is_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [*TRANSOM, "cloud", "run", "--data-dir", str(tmp_path), "--listen", "localhost"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(TRANSOM_ADMIN_PASSWORD="pw-123456789"),
    )
    assert result.returncode == 2 and "HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serves_then_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    process = subprocess.Popen(
        [*TRANSOM, "cloud", "run", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(TRANSOM_ADMIN_PASSWORD="pw-123456789"),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" on ", 1)[1].split("/api/engine/v2")[0]
        token = httpx.post(
            f"{url}/auth/oauth/token",
            params={
                "grant_type": "password",
                "username": "admin",
                "password": "pw-123456789",
            },
            timeout=10,
        )
        version = httpx.get(f"{url}/api/engine/v2/version", timeout=10)
        assert version.status_code == 200 and version.json()["app"] == "transom"
        assert token.status_code == 200, token.text
        me = httpx.get(
            f"{url}/api/engine/v2/users/current",
            timeout=10,
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert me.json()["name"] == "admin" and me.json()["sys_admin"] is True
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "stopped" in out
