"""A small trio-native etcd v3 client over the JSON gateway: leases, keys, prefix watches, failover.

Why this and not a library (DESIGN.md asks for the reason to be recorded here):
- `etcd3` 0.12, the client the design card names, fails to import with current protobuf
  ("Descriptors cannot be created directly") and has been unmaintained since 2020.
- `aetcd` 1.0 works, but is asyncio-only: under trio it needs trio-asyncio for every call, and
  the membership's keepalive is the one loop whose timing must not depend on a bridge.
- etcd's v3 JSON gateway (`/v3/kv/put`, `/v3/lease/keepalive`, the streaming `/v3/watch`, ...)
  over httpx runs natively under trio (measured: reference/dependencies.md), needs no protobuf,
  and the few calls membership needs fit in one small module.

Keys and values travel base64-encoded; 64-bit integers arrive as JSON strings. Several
endpoints may be given: a connection error or timeout on the current one moves to the next, so
a client rides over one member dying or freezing. Lease renewals, which are idempotent and on
which fencing hangs, go to every endpoint at once and the first answer counts: during an etcd
leader election the member that can answer first (a follower of the new leader) is not known
in advance, and trying members one after the other would spend a timeout on each.

Errors:
    EtcdError                 etcd answered with an error (its gRPC code and message)
      EtcdUnavailableError    no endpoint answered in time
      LeaseNotFoundError      the lease expired or was revoked
      WatchCompactedError     a watch asked for history that compaction removed
"""

from __future__ import annotations

import base64
import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson
import trio

# A loopback member answers in about a millisecond; one silent for a second is down or frozen,
# and moving to the next endpoint then still leaves a 3 s lease time to renew.
DEFAULT_REQUEST_TIMEOUT = 1.0
# gRPC UNAVAILABLE: the member has no leader or is stopping; another member may do better.
_GRPC_UNAVAILABLE = 14
_GRPC_NOT_FOUND = 5


class EtcdError(Exception):
    """Raised when etcd answers a request with an error; `code` is its gRPC status code."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class EtcdUnavailableError(EtcdError):
    """Raised when no endpoint answered (refused, reset, timed out, or has no leader).

    Not raised for errors etcd itself reports about a request (those are `EtcdError`).
    """


class LeaseNotFoundError(EtcdError):
    """Raised when a lease is unknown to etcd: it expired or was revoked. Grant a new one."""


class WatchCompactedError(EtcdError):
    """Raised by a watch whose start revision was compacted away: re-read, then watch again."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"watch start revision compacted (compact_revision={compact_revision})")
        self.compact_revision = compact_revision


@dataclass(frozen=True)
class KeyValue:
    """One key as stored in etcd."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int


@dataclass(frozen=True)
class WatchEvent:
    """A put or delete seen by a watch (`kv.value` is empty for a delete)."""

    kind: Literal["put", "delete"]
    kv: KeyValue


@dataclass(frozen=True)
class WatchBatch:
    """Events of one watch response, all from revisions up to and including `revision`."""

    events: tuple[WatchEvent, ...]
    revision: int


def _b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def prefix_range_end(prefix: str) -> bytes:
    """Return the range end that selects every key starting with `prefix` (etcd's convention)."""
    raw = bytearray(prefix.encode())
    while raw:
        if raw[-1] < 0xFF:
            raw[-1] += 1
            return bytes(raw)
        raw.pop()
    return b"\0"  # every key


def _kv(data: dict[str, Any]) -> KeyValue:
    return KeyValue(
        key=base64.b64decode(data.get("key", "")).decode(),
        value=base64.b64decode(data.get("value", "")),
        create_revision=int(data.get("create_revision", 0)),
        mod_revision=int(data.get("mod_revision", 0)),
        lease=int(data.get("lease", 0)),
    )


def _revision(reply: dict[str, Any]) -> int:
    return int(reply.get("header", {}).get("revision", 0))


def _error_from(reply: Any, status: int) -> EtcdError:
    if isinstance(reply, dict):
        body = reply.get("error", reply)
        message = str(reply.get("message") or body)
        # Unary calls name the gRPC code `code`; streaming ones (a keepalive) `grpc_code`.
        code = reply.get("code", reply.get("grpc_code"))
        code = int(code) if code is not None else None
    else:
        message, code = f"HTTP {status}: {reply!r}", None
    if code == _GRPC_UNAVAILABLE:
        return EtcdUnavailableError(message, code)
    if code == _GRPC_NOT_FOUND and "lease not found" in message:
        return LeaseNotFoundError(message, code)
    return EtcdError(message, code)


class WatchStream:
    """The batches of one open watch; iterate with `async for`. Ends only by raising.

    Raises (from iteration):
        WatchCompactedError: the start revision was compacted.
        EtcdUnavailableError: the stream broke (member died, closed the stream).
        EtcdError: etcd cancelled the watch for another reason.
    """

    def __init__(self, lines: AsyncIterator[str], on_broken: Any) -> None:
        self._lines = lines
        self._on_broken = on_broken

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> WatchBatch:
        while True:
            try:
                line = await self._lines.__anext__()
            except StopAsyncIteration:
                self._on_broken()
                raise EtcdUnavailableError("watch stream closed by the server") from None
            except httpx.TransportError as exc:
                self._on_broken()
                raise EtcdUnavailableError(f"watch stream broke: {exc!r}") from exc
            if not line.strip():
                continue
            message = orjson.loads(line)
            if "error" in message:
                raise _error_from(message["error"], 200)
            result = message.get("result", {})
            if result.get("canceled"):
                compacted = int(result.get("compact_revision", 0))
                if compacted:
                    raise WatchCompactedError(compacted)
                raise EtcdError(f"watch cancelled: {result.get('cancel_reason', '')!r}")
            events = tuple(
                WatchEvent("delete" if e.get("type") == "DELETE" else "put", _kv(e.get("kv", {})))
                for e in result.get("events", ())
            )
            if events:  # `created` and progress notifications carry none
                revision = max(_revision(result), *(e.kv.mod_revision for e in events))
                return WatchBatch(events, revision)


class EtcdClient:
    """An etcd v3 client over the JSON gateway, failing over between `endpoints` in turn.

    Use as `async with EtcdClient([...]) as client:` (or call `aclose()`).
    """

    def __init__(self, endpoints: Sequence[str], *, request_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        if not endpoints:
            raise ValueError("EtcdClient needs at least one endpoint")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self._current = 0
        # trust_env=False: a proxy from the environment must never sit between nodes and etcd.
        self._http = httpx.AsyncClient(timeout=request_timeout, trust_env=False)

    def __repr__(self) -> str:
        return f"<EtcdClient {self.endpoint} of {self.endpoints}>"

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to now."""
        return self.endpoints[self._current]

    async def __aenter__(self) -> EtcdClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection."""
        await self._http.aclose()

    def _mark_broken(self, endpoint: str) -> None:
        if self.endpoint == endpoint:
            self._current = (self._current + 1) % len(self.endpoints)

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` to `path` on the current endpoint, moving on after a connection failure."""
        failures: list[str] = []
        for _ in range(len(self.endpoints)):
            endpoint = self.endpoint
            try:
                response = await self._http.post(f"{endpoint}{path}", content=orjson.dumps(body))
                reply = orjson.loads(response.content) if response.content else {}
            except (httpx.TransportError, orjson.JSONDecodeError) as exc:
                failures.append(f"{endpoint}: {exc!r}")
                self._mark_broken(endpoint)
                continue
            if response.status_code != 200:
                error = _error_from(reply, response.status_code)
                if isinstance(error, EtcdUnavailableError):
                    failures.append(f"{endpoint}: {error}")
                    self._mark_broken(endpoint)
                    continue
                raise error
            return reply if isinstance(reply, dict) else {}
        raise EtcdUnavailableError(f"no etcd endpoint answered {path}: {'; '.join(failures)}")

    async def _call_every(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` to every endpoint at once; the first answer that is not "unavailable" wins
        (the others are cancelled). Only for idempotent requests.

        Raises:
            EtcdError: the first definite error an endpoint answered (the request did not succeed).
            EtcdUnavailableError: no endpoint answered in time.
        """
        if len(self.endpoints) == 1:
            return await self._call(path, body)
        content = orjson.dumps(body)
        failures: list[str] = []
        outcome: list[dict[str, Any] | EtcdError] = []

        async def attempt(index: int, endpoint: str, done: trio.CancelScope) -> None:
            try:
                response = await self._http.post(f"{endpoint}{path}", content=content)
                reply = orjson.loads(response.content) if response.content else {}
            except (httpx.TransportError, orjson.JSONDecodeError) as exc:
                failures.append(f"{endpoint}: {exc!r}")
                return
            if response.status_code != 200 or (isinstance(reply, dict) and "error" in reply):
                # A streaming call (a keepalive) reports its error in a 200 answer.
                status = response.status_code
                error = _error_from(reply["error"] if status == 200 else reply, status)
                if isinstance(error, EtcdUnavailableError):
                    failures.append(f"{endpoint}: {error}")
                    return
                outcome.append(error)
            else:
                outcome.append(reply if isinstance(reply, dict) else {})
                self._current = index  # later single-endpoint calls go to one that answers
            done.cancel()

        async with trio.open_nursery() as nursery:
            for index, endpoint in enumerate(self.endpoints):
                nursery.start_soon(functools.partial(attempt, index, endpoint, nursery.cancel_scope))
        if not outcome:
            raise EtcdUnavailableError(f"no etcd endpoint answered {path}: {'; '.join(failures)}")
        first = outcome[0]
        if isinstance(first, EtcdError):
            raise first
        return first

    # Leases

    async def grant_lease(self, ttl: int) -> tuple[int, int]:
        """Grant a lease of `ttl` seconds.

        Returns:
            (lease id, granted TTL); etcd may raise a TTL below its minimum.
        """
        reply = await self._call("/v3/lease/grant", {"TTL": int(ttl)})
        if reply.get("error"):
            raise EtcdError(str(reply["error"]))
        return int(reply["ID"]), int(reply.get("TTL", ttl))

    async def keepalive(self, lease_id: int) -> int:
        """Renew a lease once.

        Returns:
            The TTL it was renewed to, in seconds.

        Raises:
            LeaseNotFoundError: the lease has expired or was revoked.
        """
        reply = await self._call_every("/v3/lease/keepalive", {"ID": str(lease_id)})
        if "error" in reply:
            raise _error_from(reply["error"], 200)
        ttl = int(reply.get("result", {}).get("TTL", 0))
        if ttl <= 0:
            raise LeaseNotFoundError(f"lease {lease_id:x} expired or revoked")
        return ttl

    async def revoke(self, lease_id: int) -> None:
        """Revoke a lease, deleting every key attached to it; an unknown lease is no error."""
        with contextlib.suppress(LeaseNotFoundError):
            await self._call("/v3/lease/revoke", {"ID": str(lease_id)})

    # Keys

    async def put(self, key: str, value: str | bytes, *, lease: int = 0) -> int:
        """Set `key` to `value` (attached to `lease` if given); return the new revision."""
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        return _revision(await self._call("/v3/kv/put", body))

    async def get(self, key: str) -> KeyValue | None:
        """Return the key, or None if it does not exist."""
        reply = await self._call("/v3/kv/range", {"key": _b64(key)})
        kvs = reply.get("kvs", [])
        return _kv(kvs[0]) if kvs else None

    async def get_prefix(self, prefix: str) -> tuple[list[KeyValue], int]:
        """Return every key under `prefix` and the store revision they were read at."""
        reply = await self._call(
            "/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_range_end(prefix))}
        )
        return [_kv(kv) for kv in reply.get("kvs", [])], _revision(reply)

    async def delete(self, key: str) -> int:
        """Delete `key`; return how many keys were deleted (0 or 1)."""
        reply = await self._call("/v3/kv/deleterange", {"key": _b64(key)})
        return int(reply.get("deleted", 0))

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every key under `prefix`; return how many were deleted."""
        body = {"key": _b64(prefix), "range_end": _b64(prefix_range_end(prefix))}
        return int((await self._call("/v3/kv/deleterange", body)).get("deleted", 0))

    # Watches

    @contextlib.asynccontextmanager
    async def watch_prefix(self, prefix: str, *, start_revision: int) -> AsyncIterator[WatchStream]:
        """Open a watch on every key under `prefix`, from `start_revision` on.

        The stream has no read timeout (a quiet prefix sends nothing); a caller that must notice
        a frozen member reads it under its own cancel scope (see `prefix_view`).

        Raises:
            EtcdUnavailableError: no endpoint accepted the watch.
        """
        body = orjson.dumps(
            {
                "create_request": {
                    "key": _b64(prefix),
                    "range_end": _b64(prefix_range_end(prefix)),
                    "start_revision": str(start_revision),
                }
            }
        )
        timeout = httpx.Timeout(self._http.timeout.connect, read=None)
        failures: list[str] = []
        for _ in range(len(self.endpoints)):
            endpoint = self.endpoint
            async with contextlib.AsyncExitStack() as stack:
                try:
                    response = await stack.enter_async_context(
                        self._http.stream("POST", f"{endpoint}/v3/watch", content=body, timeout=timeout)
                    )
                except httpx.TransportError as exc:
                    failures.append(f"{endpoint}: {exc!r}")
                    self._mark_broken(endpoint)
                    continue
                if response.status_code != 200:
                    await response.aread()
                    raise _error_from(orjson.loads(response.content or b"null"), response.status_code)
                yield WatchStream(response.aiter_lines(), lambda e=endpoint: self._mark_broken(e))
                return
        raise EtcdUnavailableError(f"no etcd endpoint accepted a watch: {'; '.join(failures)}")
