"""SNMP request transport on pysnmp 7 (v2c and v3 authPriv): get, set and walk.

pysnmp's v3arch API is asyncio-only, so every call goes through the asyncio bridge; run
it inside `open_asyncio_loop()`. SNMP rides on UDP: an agent that is down or refuses is
indistinguishable from a slow one, so both end as CommandTimeoutError after the retries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import trio
from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    set_cmd,
    usmAesCfb128Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
    walk_cmd,
)
from pysnmp.proto import errind, rfc1902, rfc1905

from drivers.sdk.errors import CommandTimeoutError, ConnectionLostError, DeviceError
from drivers.sdk.transports.asyncio_bridge import current_asyncio_loop, run_aio

# Per try; with RETRIES a dead agent is reported after (1 + RETRIES) * TIMEOUT seconds.
TIMEOUT = 1.0
RETRIES = 2
# Past pysnmp's own timeout and retries before a request is given up as lost.
_GRACE = 2.0
AUTH_PROTOCOLS = {
    "MD5": usmHMACMD5AuthProtocol,
    "SHA": usmHMACSHAAuthProtocol,
    "SHA256": usmHMAC192SHA256AuthProtocol,
}
PRIV_PROTOCOLS = {"DES": usmDESPrivProtocol, "AES": usmAesCfb128Protocol, "AES256": usmAesCfb256Protocol}
_MISSING = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)

Value = int | str | bytes | None


class SNMPClient:
    """Requests to one SNMP agent.

    Use as `async with SNMPClient("10.0.0.9", community="public") as snmp:`, or call
    `connect()` and `aclose()` yourself. Values come back as plain Python: integers of
    every kind as int, printable strings as str (other octets as bytes), OIDs and IP
    addresses as dotted str, and Null as None.

    Args:
        version: "2c" (community) or "3" (user-based security, authPriv when both keys).
        community: the v2c community for reads; `write_community` for set, if different.
        user, auth_key, priv_key, auth_protocol ("MD5", "SHA", "SHA256"),
            priv_protocol ("DES", "AES", "AES256"): v3 credentials.
        timeout, retries: pysnmp's per-try wait and retransmissions.
    """

    def __init__(
        self,
        host: str,
        port: int = 161,
        *,
        version: str = "2c",
        community: str = "public",
        write_community: str | None = None,
        user: str = "",
        auth_key: str | None = None,
        priv_key: str | None = None,
        auth_protocol: str = "SHA",
        priv_protocol: str = "AES",
        timeout: float = TIMEOUT,
        retries: int = RETRIES,
    ) -> None:
        if version not in ("2c", "3"):
            raise ValueError(f"SNMP version must be '2c' or '3', got {version!r}")
        if auth_protocol not in AUTH_PROTOCOLS or priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(f"unknown SNMP v3 protocols {auth_protocol!r}/{priv_protocol!r}")
        self.host = host
        self.port = port
        self.peer = f"snmp://{host}:{port}"
        if version == "2c":
            self._read_auth: Any = CommunityData(community, mpModel=1)
            self._write_auth: Any = CommunityData(write_community or community, mpModel=1)
        else:
            self._read_auth = self._write_auth = UsmUserData(
                user,
                authKey=auth_key,
                privKey=priv_key,
                authProtocol=AUTH_PROTOCOLS[auth_protocol] if auth_key else None,
                privProtocol=PRIV_PROTOCOLS[priv_protocol] if priv_key else None,
            )
        self._timeout = timeout
        self._retries = retries
        self._loop: Any = None
        self._engine: Any = None
        self._target: Any = None
        self._in_flight: set[trio.CancelScope] = set()

    async def connect(self) -> None:
        """Prepare the SNMP engine (no packet is sent: UDP has no connection)."""
        self._loop = current_asyncio_loop()
        await run_aio(self._open, loop=self._loop)

    async def _open(self) -> None:
        self._engine = SnmpEngine()
        self._target = await UdpTransportTarget.create(
            (self.host, self.port), timeout=self._timeout, retries=self._retries
        )

    async def get(self, *oids: str) -> dict[str, Value]:
        """Read `oids` in one request; return {dotted oid: value}.

        Raises:
            CommandTimeoutError: no answer after the retries.
            DeviceError: the agent answered with an error or has no such object.
        """
        objects = [ObjectType(ObjectIdentity(oid)) for oid in oids]
        var_binds = await self._request(get_cmd, self._read_auth, objects, f"get {', '.join(oids)}")
        return dict(self._values(var_binds))

    async def set(self, oid: str, value: Any) -> Value:
        """Write `value` (int, str, bytes, or a pysnmp type such as Gauge32) to `oid`.

        Returns:
            The value as the agent reports it after the write.

        Raises:
            CommandTimeoutError, DeviceError: as for get (e.g. notWritable, wrongType).
        """
        objects = [ObjectType(ObjectIdentity(oid), _to_snmp(value))]
        var_binds = await self._request(set_cmd, self._write_auth, objects, f"set {oid}")
        return next(iter(dict(self._values(var_binds)).values()))

    async def walk(self, oid: str) -> list[tuple[str, Value]]:
        """Read every object under `oid`, in order.

        Raises:
            CommandTimeoutError, DeviceError: as for get.
        """
        return await self._call(self._walk, oid, requests=0)

    async def _walk(self, oid: str) -> list[tuple[str, Value]]:
        rows: list[tuple[str, Value]] = []
        walking = walk_cmd(
            self._engine,
            self._read_auth,
            self._target,
            ContextData(),
            ObjectType(ObjectIdentity(oid)),
            lexicographicMode=False,  # stop at the end of the subtree
            lookupMib=False,
        )
        async for error_indication, error_status, error_index, var_binds in walking:
            self._check(error_indication, error_status, error_index, var_binds, f"walk {oid}")
            rows.extend(self._values(var_binds, missing_ok=True))
        return rows

    async def _request(self, command: Any, auth: Any, objects: list[Any], what: str) -> Sequence[Any]:
        async def send() -> Sequence[Any]:
            reply = await command(self._engine, auth, self._target, ContextData(), *objects, lookupMib=False)
            error_indication, error_status, error_index, var_binds = reply
            self._check(error_indication, error_status, error_index, var_binds, what)
            result: Sequence[Any] = var_binds
            return result

        return await self._call(send)

    async def _call(self, fn: Any, *args: Any, requests: int = 1) -> Any:
        if self._engine is None:
            raise RuntimeError(f"{self.peer}: call connect() first")
        # pysnmp ends a request after its own timeout and retries, but a request whose engine
        # is closed under it (the module rebuilt its client) waits on a future nobody will
        # resolve: aclose() cancels what is in flight, and a deadline past pysnmp's own is the
        # backstop for anything else that leaves a call waiting forever (a walk's length is
        # unknown: it gets no deadline).
        bound = self._timeout * (self._retries + 1) * requests + _GRACE if requests else math.inf
        scope = trio.CancelScope(deadline=trio.current_time() + bound)
        self._in_flight.add(scope)
        try:
            with scope:
                return await run_aio(fn, *args, loop=self._loop)
        finally:
            self._in_flight.discard(scope)
        # Only a cancelled scope gets here: the with block returned otherwise.
        if self._engine is None:
            raise ConnectionLostError(f"{self.peer}: the SNMP client closed during the request")
        raise CommandTimeoutError(f"{self.peer}: no answer, and pysnmp never ended the request")

    def _check(
        self, error_indication: Any, error_status: Any, error_index: Any, var_binds: Any, what: str
    ) -> None:
        if isinstance(error_indication, errind.RequestTimedOut):
            raise CommandTimeoutError(f"{self.peer} {what}: no answer ({error_indication})")
        if error_indication:
            raise DeviceError(f"{self.peer} {what}: {error_indication}")
        if error_status:
            index = int(error_index)
            culprit = f" at {var_binds[index - 1][0]}" if 0 < index <= len(var_binds) else ""
            raise DeviceError(f"{self.peer} {what}: {error_status.prettyPrint()}{culprit}")

    def _values(self, var_binds: Sequence[Any], *, missing_ok: bool = False) -> list[tuple[str, Value]]:
        values = []
        for name, value in var_binds:
            if isinstance(value, _MISSING):
                if missing_ok:
                    continue
                raise DeviceError(f"{self.peer}: {name}: {type(value).__name__}")
            values.append((str(name), to_python(value)))
        return values

    async def aclose(self) -> None:
        engine, self._engine = self._engine, None
        for scope in self._in_flight:
            scope.cancel()
        await close_engine(engine, self._loop)

    async def __aenter__(self) -> SNMPClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def close_engine(engine: Any, loop: Any) -> None:
    """Close a pysnmp engine (None: nothing to close) on the asyncio loop it was made on.

    A loop that is already closed took the engine's socket and timer task with it.
    """
    if engine is not None and not loop.is_closed():
        await run_aio(_close_dispatcher, engine, loop=loop)


async def _close_dispatcher(engine: Any) -> None:
    # Must run on the loop: it closes the socket and cancels pysnmp's timer task.
    engine.close_dispatcher()


def to_python(value: Any) -> Value:
    """Convert one pysnmp/pyasn1 value to plain Python (see SNMPClient)."""
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks, ...
        return int(value)
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(octet) for octet in value.asOctets())
    if isinstance(value, univ.OctetString):
        raw = bytes(value.asOctets())
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return raw
        return text if all(c.isprintable() or c in "\r\n\t" for c in text) else raw
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.Null):
        return None
    return str(value.prettyPrint())


def _to_snmp(value: Any) -> Any:
    if isinstance(value, bool):
        raise TypeError("SNMP has no boolean: pass the integer the MIB defines (e.g. 1 or 2)")
    if isinstance(value, int):
        return rfc1902.Integer32(value)
    if isinstance(value, str | bytes):
        return rfc1902.OctetString(value)
    return value  # already a pysnmp type
