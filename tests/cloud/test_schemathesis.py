"""Schemathesis against the API's own OpenAPI document: no 5xx, every answer as the document says.

The API runs for real (hypercorn's trio worker on a loopback port) in a thread with its own
trio loop, and the schema is loaded from it with `schemathesis.openapi.from_url`.
`from_asgi` is not used: it drives the app through Starlette's TestClient on asyncio, while
the app's lifespan and WebSocket sessions are trio code; and the pytest plugin's lazy
`from_fixture` fails under pytest 9 (no `Function._nodeid`), so one test walks the
operations itself. Each operation gets a few derandomized examples (so a failure
reproduces), sent as the admin with a bearer token; every failure is reported at the end.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from cloud.api.app import create_app
from cloud.api.module_router import CallableModuleRouter
from cloud.api.status_bus import InMemoryStatusBus
from cloud.auth.auth_db import AuthDB
from cloud.auth.principal import Principal
from cloud.auth.service import AuthService
from cloud.store.sqlite import SQLiteStore
from sync.model import SettingsCipher
from tests.asgi_server import serve_asgi
from tests.cloud.api.conftest import ADMIN_PASSWORD, FAST_PASSWORDS, FUNCTIONS, PREFIX, SECRET

# Examples per operation: ~110 operations x this stays within a couple of minutes on 2 cores.
MAX_EXAMPLES = 40
# The control WebSocket is in the document as an `x-websocket` GET; a plain GET is no upgrade.
WEBSOCKET_PATH = f"{PREFIX}/systems/control"
CHECKS = [not_a_server_error, response_schema_conformance]


class LiveApi:
    """The API served from a thread (its own trio loop) until `close()`."""

    def __init__(self, data_dir: Path) -> None:
        self._stop = threading.Event()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=trio.run, args=(self._serve, data_dir), daemon=True)
        self._thread.start()
        found = self._ready.get(timeout=30)
        if isinstance(found, BaseException):
            raise found
        self.base_url = found

    async def _serve(self, data_dir: Path) -> None:
        try:
            store = await SQLiteStore.open(data_dir / "store.db")
            db = await AuthDB.open(data_dir / "auth.db")
            auth = AuthService(store, secret=SECRET, db=db, passwords=FAST_PASSWORDS, domain="localhost")
            await auth.ensure_first_admin(ADMIN_PASSWORD)
        except BaseException as exc:
            self._ready.put(exc)
            raise
        router = CallableModuleRouter()

        async def answer(module_id: str, method: str, args: Any, who: Principal) -> Any:
            return {"module": module_id, "method": method, "args": args}

        router.set_fallback(answer)
        app = create_app(
            store=store, auth=auth, modules=router, status=InMemoryStatusBus(), cipher=SettingsCipher(SECRET)
        )
        try:
            async with serve_asgi(app) as base_url:
                self._ready.put(base_url)
                await trio.to_thread.run_sync(self._stop.wait)
        finally:
            await auth.aclose()
            await store.aclose()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _seed(client: httpx.Client) -> dict[str, str]:
    """Documents for the generated requests to find: a driver, modules, a zone and a system.

    Returns:
        Real values for path parameters, by name (`id` by the path's first segment).
    """

    def make(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(PREFIX + path, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    driver = make(
        "/drivers",
        {
            "name": "Display",
            "role": "device",
            "module_name": "Display",
            "file_name": "d:D",
            "default_port": 4352,
            "functions": FUNCTIONS,
        },
    )
    modules = [make("/modules", {"driver_id": driver["id"], "ip": f"10.0.0.{i}"})["id"] for i in (1, 2)]
    zone = make("/zones", {"name": "Level 1", "tags": ["level"]})
    system = make("/systems", {"name": "Room 1", "zones": [zone["id"]], "modules": modules})
    user = client.get(PREFIX + "/users/current").json()
    return {
        "sys_id": system["id"],
        "module_id": modules[0],
        "parent_id": system["id"],
        "module_slug": "Display_1",
        "method": "power",
        "systems": system["id"],
        "modules": modules[1],
        "zones": zone["id"],
        "drivers": driver["id"],
        "users": user["id"],
    }


@pytest.fixture(scope="module")
def live_api(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveApi, dict[str, str], dict[str, str]]]:
    api = LiveApi(tmp_path_factory.mktemp("schemathesis"))
    try:
        with httpx.Client(base_url=api.base_url, timeout=10) as client:
            grant = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
            reply = client.post("/auth/oauth/token", data=grant)
            assert reply.status_code == 200, reply.text
            headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
            client.headers.update(headers)
            known = _seed(client)
        yield api, headers, known
    finally:
        api.close()


def _known_path(operation: Any, known: dict[str, str]) -> dict[str, str] | None:
    """Path parameters naming seeded documents, if the operation has any and is not a delete."""
    names = [p.name for p in operation.path_parameters]
    if not names or operation.method.upper() == "DELETE":
        return None
    family = operation.path.removeprefix(PREFIX).split("/")[1]
    values = {name: known.get(family if name == "id" else name) for name in names}
    return None if None in values.values() else values  # type: ignore[return-value]


def _check(operation: Any, headers: dict[str, str], known: dict[str, str]) -> None:
    """Send MAX_EXAMPLES generated requests (valid and invalid ones) to one operation.

    Besides random path parameters (mostly 404s), valid requests are also sent with path
    parameters naming the seeded documents, so shows, updates and execs reach real ones.

    Raises:
        FailureGroup: a check failed (hypothesis has shrunk the example).
    """
    # /auth needs no token, and /auth/logout would revoke the one every other call uses.
    sent = {} if operation.path.startswith("/auth/") else headers
    modes = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    path = _known_path(operation, known)
    if path is not None:
        real = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        modes.append(real.map(lambda case: _with_path(case, path)))

    @given(case=st.one_of(*modes))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Any) -> None:
        case.call_and_validate(headers=sent, checks=CHECKS, timeout=10)

    conforms()


def _with_path(case: Any, path: dict[str, str]) -> Any:
    case.path_parameters = {**(case.path_parameters or {}), **path}
    return case


def test_api_conforms_to_its_openapi(live_api: tuple[LiveApi, dict[str, str], dict[str, str]]) -> None:
    api, headers, known = live_api
    schema = schemathesis.openapi.from_url(f"{api.base_url}{PREFIX}/openapi.json")
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an invalid operation: {result.err()}"
        operation = result.ok()
        if operation.path == WEBSOCKET_PATH:
            continue
        tried += 1
        try:
            _check(operation, headers, known)
        except (Exception, FailureGroup) as exc:  # every operation is tried; failures reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert tried > 50
    assert not failures, f"{len(failures)} of {tried} operations failed:\n\n" + "\n\n".join(failures)
