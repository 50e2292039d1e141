"""HTTP request transport: for devices with a REST or CGI API (one request, one reply)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx

from drivers.sdk.errors import CommandTimeoutError, ConnectError, ConnectionLostError
from drivers.sdk.transports._translate import describe

# Embedded web servers answer in well under this; a longer wait is a hung device.
TIMEOUT = 10.0


class HTTPClient:
    """Requests to one device's HTTP API, relative to `base_uri`.

    A thin layer over `httpx.AsyncClient` (which runs natively under trio) that turns
    transport failures into the SDK's errors. HTTP error statuses are not errors here: the
    response comes back and the driver decides what a 401 or a 500 means for its device.

    Args:
        base_uri: e.g. "https://10.0.0.5:8443/api/"; request paths are relative to it.
        headers: sent with every request.
        auth: (username, password) for HTTP basic auth, or any httpx.Auth such as
            httpx.DigestAuth (which many cameras and codecs require).
        verify: check the device's certificate; False for a self-signed one, or an
            SSLContext (see tls.client_ssl_context).
        timeout: seconds for each of connect, read, write and pool waits.
    """

    def __init__(
        self,
        base_uri: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | httpx.Auth | None = None,
        verify: bool | ssl.SSLContext = True,
        timeout: float = TIMEOUT,
    ) -> None:
        self.base_uri = base_uri
        self._client = httpx.AsyncClient(
            base_url=base_uri,
            headers=dict(headers or {}),
            auth=auth,
            verify=verify,
            timeout=timeout,
        )

    async def request(self, method: str, path: str = "", **kwargs: Any) -> httpx.Response:
        """Send one request and return its response, whatever its status.

        Keyword arguments are httpx's: params, json, content, data, headers, ...

        Raises:
            ConnectError: the device could not be reached.
            CommandTimeoutError: it did not answer in time.
            ConnectionLostError: it dropped the connection or answered with something
                that is not HTTP.
        """
        with _translate_httpx_errors(f"{method} {self.base_uri}{path}"):
            return await self._client.request(method, path, **kwargs)

    async def get(self, path: str = "", **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str = "", **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str = "", **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str = "", **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HTTPClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@contextmanager
def _translate_httpx_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ConnectError(f"{what}: could not connect: {describe(exc)}") from exc
    except httpx.TimeoutException as exc:
        raise CommandTimeoutError(f"{what}: no answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise ConnectionLostError(f"{what}: {describe(exc)}") from exc
