"""The RethinkDB store's connection to its cluster: trio, failover across hosts, bounded waits.

The official `rethinkdb` driver has a trio connection type (`rethinkdb.trio_net`). It needs a
nursery for its reader task, so a link hosts one in a trio *system task* of its own (a store
is opened with a plain `await`, not inside a nursery); whatever the driver starts there is
guarded, so a driver task that fails can never take the trio run down with it.

The driver's connection-close bugs, worked around here and only here (`_Instance`): when the
server dies, the driver's reader loops on the closed socket without ever seeing its end
(it appends b"" forever); when it does fail, it calls `close()`, and `close()` waits for
the reader task to end: it waits for itself, forever. The comment in the driver says it must
not wait then; the code does. Queries already sent get their error, but the reader task
never ends, and a query sent on the dead connection afterwards waits forever for an answer.
`_Instance._read_exactly` treats end-of-stream as a broken connection, `_Instance.close`
skips that wait when called from the reader, and `_Instance.run_query` fails at once when
the send found the connection closed. On top of that every query runs
under a deadline, so a frozen server (SIGSTOP) costs a timeout, never a hang.

Several hosts (a cluster): the link talks to one at a time; when it stops answering, the link
connects to the next. Reads are retried through an outage (they are idempotent) until
`UNAVAILABLE_TIMEOUT`; writes are retried by the store itself, which knows whether one
committed (rethinkdb.py).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import trio
from rethinkdb import ast as reql_ast
from rethinkdb import net as reql_net
from rethinkdb.errors import ReqlAvailabilityError, ReqlDriverError, ReqlError, ReqlTimeoutError

with warnings.catch_warnings():
    # The driver's trio module says `request is not ""` (a SyntaxWarning when compiled).
    warnings.simplefilter("ignore", SyntaxWarning)
    from rethinkdb.trio_net import net_trio

from cloud.store.errors import StoreClosedError, StoreError

log = logging.getLogger(__name__)

DEFAULT_PORT = 28015
# A server that does not accept a connection within this is treated as down (try the next).
CONNECT_TIMEOUT = 5.0
# One query that has no answer in this long is abandoned, and its connection with it.
QUERY_TIMEOUT = 20.0
# How long reads (and the store's writes) keep retrying while no server answers: a cluster
# elects a new primary for a table within a few seconds of losing one.
UNAVAILABLE_TIMEOUT = 30.0
# Pause between attempts while the cluster is unavailable.
RETRY_PAUSE = 0.2
# Arrays built on the server (a page, a batch) may hold this many elements (default 100,000).
ARRAY_LIMIT = 10_000_000

TRANSIENT = (ReqlDriverError, ReqlAvailabilityError, ReqlTimeoutError)


class Unavailable(StoreError):
    """Raised when no server of the cluster answered (in time): the outcome of a write is unknown."""


@dataclass(frozen=True)
class Target:
    """Where a store lives: the cluster's servers (host, port), the database, and credentials."""

    hosts: tuple[tuple[str, int], ...]
    db: str
    user: str = "admin"
    password: str = ""

    @classmethod
    def parse(cls, url: str) -> Target:
        """`rethinkdb://[user[:password]@]host[:port][,host[:port]...]/db`.

        Raises:
            ValueError: the URL names no host or no database, or a port is not a number.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "rethinkdb":
            raise ValueError(f"{url!r} is not a rethinkdb:// URL")
        credentials, _, hostlist = parts.netloc.rpartition("@")
        user, _, password = credentials.partition(":")
        hosts = []
        for item in hostlist.split(","):
            host, sep, port = item.strip().rpartition(":")
            if not sep:
                host, port = item.strip(), str(DEFAULT_PORT)
            if not host or not port.isdigit():
                raise ValueError(f"{url!r}: {item!r} is not host[:port]")
            hosts.append((host, int(port)))
        db = parts.path.strip("/")
        if not db or not db.replace("_", "a").isalnum():
            raise ValueError(
                f"{url!r} names no database (letters, digits and _ only): rethinkdb://host:port/db"
            )
        return cls(tuple(hosts), db, unquote(user) or "admin", unquote(password))

    def __str__(self) -> str:
        return "rethinkdb://" + ",".join(f"{h}:{p}" for h, p in self.hosts) + f"/{self.db}"


class _Instance(net_trio.ConnectionInstance):
    """The driver's trio connection, with its close-from-the-reader deadlock fixed (see above)."""

    _reader_ended_event: Any

    async def close(self, noreply_wait: bool = False, token: Any = None, exception: Any = None) -> None:
        if exception is None:
            await super().close(noreply_wait, token, exception)
            return
        # Called by the reader task itself: waiting for the reader to end would wait forever.
        ended: Any = self._reader_ended_event
        self._reader_ended_event = None
        try:
            await super().close(noreply_wait, token, exception)
        finally:
            self._reader_ended_event = ended

    async def _read_exactly(self, num: int) -> bytes | None:
        # The driver's loop adds b"" forever once the server has closed the socket (EOF).
        data = b""
        try:
            while len(data) < num:
                chunk = await self._stream.receive_some(num - len(data))
                if not chunk:
                    raise ReqlDriverError("the server closed the connection")
                data += chunk
            return data
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._closed = True
            return None

    async def run_query(self, query: Any, noreply: bool) -> Any:
        if not self.is_open():
            raise ReqlDriverError("Connection is closed.")
        await self._send(query.serialize(self._parent._get_json_encoder(query)))
        if not self.is_open():  # the send found the connection broken: nobody will answer
            raise ReqlDriverError("Connection is closed.")
        if noreply:
            return None
        future = net_trio.TrioFuture()
        self._user_queries[query.token] = (query, future)
        return await future.wait()


class _Connection(net_trio.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        reql_net.Connection.__init__(self, _Instance, *args, **kwargs)


class _GuardedNursery:
    """What the driver sees as its nursery: tasks whose failure is logged, not propagated."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        async def guarded() -> None:
            try:
                await fn(*args)
            except Exception as exc:  # the connection broke; its queries already got their error
                log.debug("rethinkdb driver task ended: %r", exc)

        self._nursery.start_soon(guarded)


class Link:
    """Connections to one cluster for one store. Create with `await Link.open(target)`."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._nursery: _GuardedNursery | None = None
        self._host_scope = trio.CancelScope()
        self._host_ready = trio.Event()
        self._host_done = trio.Event()
        self._conn: Any = None
        self._conn_lock = trio.Lock()
        self._next_host = 0
        self._closed = False

    @classmethod
    async def open(cls, target: Target) -> Link:
        link = cls(target)
        trio.lowlevel.spawn_system_task(link._host, name=f"rethinkdb link {target}")
        await link._host_ready.wait()
        return link

    async def _host(self) -> None:
        try:
            with self._host_scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = _GuardedNursery(nursery)
                    self._host_ready.set()
                    await trio.sleep_forever()
        finally:
            self._host_ready.set()
            self._host_done.set()

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run a background task of the store (its changefeed listener) in the link's nursery."""
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)

    # -- connections -------------------------------------------------------------------------

    async def connect(self) -> Any:
        """A new connection to the first server (from the next in turn) that answers.

        Raises:
            Unavailable: no server accepted a connection.
        """
        if self._closed or self._nursery is None:
            raise StoreClosedError("the store is closed")
        errors = []
        for _ in self.target.hosts:
            host, port = self.target.hosts[self._next_host % len(self.target.hosts)]
            try:
                with trio.fail_after(CONNECT_TIMEOUT + 1):
                    return await reql_net.make_connection(
                        _Connection,
                        host=host,
                        port=port,
                        db=self.target.db,
                        user=self.target.user,
                        password=self.target.password,
                        timeout=CONNECT_TIMEOUT,
                        nursery=self._nursery,
                    )
            except (ReqlError, trio.TooSlowError, OSError) as exc:
                errors.append(f"{host}:{port}: {exc}")
                self._next_host += 1
        raise Unavailable(f"no RethinkDB server of {self.target} answered: " + "; ".join(errors))

    async def _shared(self) -> Any:
        async with self._conn_lock:
            if self._closed:
                raise StoreClosedError("the store is closed")
            if self._conn is None or not self._conn.is_open():
                self._conn = await self.connect()
            return self._conn

    async def _drop(self, conn: Any) -> None:
        """Give up a connection that failed or timed out; the next query connects again."""
        if self._conn is conn:
            self._conn = None
            self._next_host += 1  # the server may be gone: start from the next one
        await close_quietly(conn)

    # -- queries -----------------------------------------------------------------------------

    async def run(self, query: reql_ast.RqlQuery, *, retry: bool = False, **optargs: Any) -> Any:
        """Run a query on the shared connection and return its result (a sequence as a list).

        Args:
            retry: the query is idempotent; retry it while the cluster is unavailable.

        Raises:
            Unavailable: no server answered (within UNAVAILABLE_TIMEOUT when `retry`).
            StoreError: the server refused the query.
            StoreClosedError: the store was closed.
        """
        deadline = trio.current_time() + UNAVAILABLE_TIMEOUT
        while True:
            try:
                return await self._run_once(query, optargs)
            except Unavailable:
                if not retry or self._closed or trio.current_time() + RETRY_PAUSE > deadline:
                    raise
                await trio.sleep(RETRY_PAUSE)

    async def _run_once(self, query: reql_ast.RqlQuery, optargs: dict[str, Any]) -> Any:
        conn = await self._shared()
        try:
            with trio.fail_after(QUERY_TIMEOUT):
                result = await query.run(conn, array_limit=ARRAY_LIMIT, **optargs)
                if isinstance(result, net_trio.TrioCursor):
                    items = [item async for item in result]
                    return items
                return result
        except (*TRANSIENT, trio.TooSlowError) as exc:
            await self._drop(conn)
            if self._closed:
                raise StoreClosedError("the store is closed") from exc
            raise Unavailable(
                f"RethinkDB ({self.target}) did not answer: {exc or type(exc).__name__}"
            ) from exc
        except ReqlError as exc:
            raise StoreError(f"RethinkDB refused a query: {exc}") from exc

    async def aclose(self) -> None:
        """Close every connection and stop the link's tasks."""
        if self._closed:
            return
        self._closed = True
        conn, self._conn = self._conn, None
        with trio.CancelScope(shield=True):
            if conn is not None:
                await close_quietly(conn)
            self._host_scope.cancel()
            await self._host_done.wait()


async def close_quietly(conn: Any) -> None:
    """Close a driver connection without waiting on the server (it may be dead or frozen)."""
    with trio.move_on_after(1.0):
        try:
            await conn.close(noreply_wait=False)
        except Exception as exc:
            log.debug("closing a rethinkdb connection: %r", exc)
