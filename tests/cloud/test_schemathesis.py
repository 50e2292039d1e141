"""Schemathesis against the API's own OpenAPI document: no 5xx, every answer as the document says.

The API runs for real (hypercorn's trio worker on a loopback port) in a thread with its own
trio loop (tests/cloud/live_api.py), and the schema is loaded from it with `schemathesis.openapi.from_url`.
`from_asgi` is not used: it drives the app through Starlette's TestClient on asyncio, while
the app's lifespan and WebSocket sessions are trio code; and the pytest plugin's lazy
`from_fixture` fails under pytest 9 (no `Function._nodeid`), so one test walks the
operations itself. Each operation gets a few derandomized examples (so a failure
reproduces), sent as the admin with a bearer token; every failure is reported at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.cloud.api.conftest import PREFIX
from tests.cloud.live_api import LiveApi, admin_headers, seed

# Examples per operation: ~110 operations x this stays within a couple of minutes on 2 cores.
MAX_EXAMPLES = 40
# The control WebSocket is in the document as an `x-websocket` GET; a plain GET is no upgrade.
WEBSOCKET_PATH = f"{PREFIX}/systems/control"
CHECKS = [not_a_server_error, response_schema_conformance]


Running = tuple[LiveApi, dict[str, str], dict[str, str]]
"""The API, the admin's headers, and the seeded ids."""


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    api = LiveApi(tmp_path_factory.mktemp("schemathesis"))
    try:
        headers = admin_headers(api)
        yield api, headers, seed(api, headers)
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


def test_api_conforms_to_its_openapi(live_api: Running) -> None:
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
