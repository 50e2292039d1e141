"""What an operator sees of a running cloud: health, readiness, metrics, access and security logs, docs, TLS.

Before: no /health or /metrics, two log lines for a whole session, a docs page that loaded
its scripts from a public CDN, no security schemes in openapi.json, and no TLS options.
"""

from __future__ import annotations

import logging
import ssl
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from cloud.server import TlsOptionsInvalid, serve_cloud
from tests.tls_certs import write_self_signed

PASSWORD = "correct horse battery staple"
PREFIX = "/api/engine/v2"


async def test_health_ready_metrics_logs_and_docs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with trio.open_nursery() as nursery:
        serve = partial(serve_cloud, data_dir=tmp_path, listen="127.0.0.1:0", admin_password=PASSWORD)
        binds = await nursery.start(serve)
        async with httpx.AsyncClient(base_url=binds[0], timeout=30) as client:
            assert (await client.get("/health")).json()["status"] == "ok"
            ready = await client.get("/ready")
            assert ready.status_code == 200 and ready.json()["checks"]["store"] == "ok"

            wrong = await client.post(
                "/auth/oauth/token", data={"grant_type": "password", "username": "admin", "password": "nope"}
            )
            assert wrong.status_code == 400
            refused = await client.get(f"{PREFIX}/systems", headers={"X-API-Key": "key-0000000000.nope"})
            assert refused.status_code == 401
            good = await client.get(f"{PREFIX}/version", headers={"X-Request-Id": "probe-42"})
            assert good.headers["x-request-id"] == "probe-42"
            assert len((await client.get(f"{PREFIX}/version")).headers["x-request-id"]) == 16

            metrics = (await client.get("/metrics")).text
            assert "transom_http_request_duration_seconds_count" in metrics
            assert 'route="/api/engine/v2/systems",status="401"' in metrics
            assert "transom_edges_online 0.0" in metrics
            assert "transom_control_sessions 0.0" in metrics and "transom_control_bindings 0.0" in metrics

            docs = await client.get(f"{PREFIX}/docs")
            assert docs.status_code == 200 and "cdn" not in docs.text.lower()
            script = await client.get(f"{PREFIX}/docs/static/swagger-ui-bundle.js")
            assert script.status_code == 200 and len(script.content) > 100_000
            document = (await client.get(f"{PREFIX}/openapi.json")).json()
            assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
            assert document["paths"]["/auth/oauth/token"]["post"]["security"] == []
        nursery.cancel_scope.cancel()

    access = [r.getMessage() for r in caplog.records if r.name == "transom.access"]
    assert any("request_id=probe-42" in line and "status=200" in line for line in access), access
    assert any("route=/api/engine/v2/systems" in line and "status=401" in line for line in access)
    security = [r.getMessage() for r in caplog.records if r.name == "transom.security"]
    assert any(line.startswith("login failed") and "'admin'" in line for line in security), security
    assert any(line.startswith("credential refused: invalid_api_key") for line in security), security


async def test_tls_serves_https_and_refuses_half_options(tmp_path: Path) -> None:
    cert, key = write_self_signed(tmp_path)
    with pytest.raises(TlsOptionsInvalid):
        await serve_cloud(data_dir=tmp_path, listen="127.0.0.1:0", admin_password=PASSWORD, tls_cert=cert)
    with pytest.raises(TlsOptionsInvalid):
        await serve_cloud(
            data_dir=tmp_path,
            listen="127.0.0.1:0",
            admin_password=PASSWORD,
            tls_cert=cert,
            tls_key="/nonexistent",
        )
    async with trio.open_nursery() as nursery:
        serve = partial(
            serve_cloud,
            data_dir=tmp_path / "data",
            listen="127.0.0.1:0",
            admin_password=PASSWORD,
            tls_cert=cert,
            tls_key=key,
        )
        binds = await nursery.start(serve)
        assert binds[0].startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(base_url=binds[0], verify=trust) as client:
            assert (await client.get("/health")).status_code == 200
        nursery.cancel_scope.cancel()
