"""Release records: each node's word, kept in etcd, on which modules it may still drive.

A module handed over between two live nodes (a node joined or came back) must be let go by its
old owner before its new owner connects it. Nothing but the old owner knows when its driver host
has closed the device connection, so the old owner says so. After it applies a membership view
(its stops have returned: `ModuleHost.stop_module` returns once the host closed the connection)
it writes its record

    /<prefix>/sites/<site>/released/<node_id>  ->  {"revision": R, "held": ["mod-a", ...]}

under its own lease, so that the record goes when the node's lease goes. `R` is the etcd
revision of the view it applied and `held` every module it may drive after applying it: those
it runs, those it is about to start and those whose stop failed. Every node mirrors the prefix
(`serve_prefix_view`), and a new owner starts a module handed over by node X as soon as X's
record, under the lease X is registered with, is for a view that includes the new owner's own
current registration (R at least that key's revision) and does not hold the module
(`ReleaseRecord.releases`). Such a view places the module on the new owner, not on X, so X
will not start it again while the new owner keeps its registration.

A record that never comes (X frozen, cut off, its host hung) confirms nothing: the new owner
keeps waiting, and takes the module over only once X's registration is gone (its lease
expired: every permit of it lapsed), after the takeover delay (`edge.cluster.coordinator`).

The records live beside the node registrations, not under them: a node's view changes only
when a registration does, so writing a record never makes a new view (which would make a new
record).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import orjson
import trio

from edge.cluster.etcd_client import EtcdClient, EtcdError
from edge.cluster.latest import Latest
from edge.cluster.prefix_view import Snapshot, serve_prefix_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseRecord:
    """What node `node` said, under `lease`, once it had applied the view at etcd `revision`:
    it may drive the modules in `held` and no other."""

    node: str
    lease: int
    revision: int
    held: frozenset[str]

    def releases(self, module_id: str, *, lease: int, since: int) -> bool:
        """True when this record says `module_id` is let go, for a registration of its node under
        `lease`, in a view at or after etcd revision `since`."""
        return self.lease == lease and self.revision >= since and module_id not in self.held


class ReleaseBoard(Protocol):
    """The release records seam: every node's record in, this node's record out."""

    # Every node's newest record, by node id.
    records: Latest[Mapping[str, ReleaseRecord]]

    def publish(self, revision: int, held: Iterable[str]) -> None:
        """Say this node applied the view at `revision` and may drive only `held` (never blocks:
        it is written as soon as possible, a newer one replacing one not yet written)."""
        ...


class LocalReleases:
    """A one-node site's board: nobody else drives anything, so nobody waits on a record."""

    def __init__(self) -> None:
        self.records: Latest[Mapping[str, ReleaseRecord]] = Latest({})

    def publish(self, revision: int, held: Iterable[str]) -> None:
        """Nothing to tell anyone."""


def releases_prefix(prefix: str, site: str) -> str:
    """Return the etcd prefix under which the nodes of `site` keep their release records."""
    return f"/{prefix.strip('/')}/sites/{site}/released/"


def encode(revision: int, held: Iterable[str]) -> bytes:
    """The stored form of a record (the node and lease are the key's)."""
    return orjson.dumps({"revision": revision, "held": sorted(held)})


def decode(node: str, lease: int, value: bytes) -> ReleaseRecord | None:
    """A record read back, or None if it is not one (then it confirms nothing)."""
    try:
        data = orjson.loads(value)
        revision, held = int(data["revision"]), frozenset(str(m) for m in data["held"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return ReleaseRecord(node, lease, revision, held)


class EtcdReleases:
    """The release records of a site in etcd (see the module docstring); the membership runs
    `serve` in each of its sessions, under the lease of that session."""

    def __init__(
        self, client: EtcdClient, *, prefix: str, site: str, node_id: str, retry_interval: float
    ) -> None:
        self._client = client
        self._prefix = releases_prefix(prefix, site)
        self.key = f"{self._prefix}{node_id}"
        self._retry = retry_interval
        self.records: Latest[Mapping[str, ReleaseRecord]] = Latest({})
        self._mine: Latest[tuple[int, frozenset[str]] | None] = Latest(None)

    def __repr__(self) -> str:
        return f"<EtcdReleases {self.key}>"

    def publish(self, revision: int, held: Iterable[str]) -> None:
        self._mine.set((revision, frozenset(held)))

    def forget(self) -> None:
        """A new lease: what this node said under the old one is not said under the new one
        (the node says it again once it has applied a view under the new lease)."""
        self._mine.set(None)

    async def serve(self, lease: int, *, quiet_check: float) -> None:
        """Write this node's record under `lease` (each new one as it comes) and mirror every
        node's, until cancelled (the session ends with the lease)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._write, lease)
            await serve_prefix_view(
                self._client,
                self._prefix,
                self._on_snapshot,
                quiet_check=quiet_check,
                retry_interval=self._retry,
            )

    async def _write(self, lease: int) -> None:
        written = -1
        while True:
            version, mine = self._mine.version, self._mine.value
            if version != written and mine is not None:
                try:
                    await self._client.put(self.key, encode(*mine), lease=lease)
                except EtcdError as exc:
                    # Retried until it lands (or the session ends): until then the others wait.
                    log.warning("writing release record %s failed: %s", self.key, exc)
                    await trio.sleep(self._retry)
                    continue
                written = version
            await self._mine.wait_changed(version)

    def _on_snapshot(self, snapshot: Snapshot, revision: int) -> None:
        records = {}
        for key, kv in snapshot.items():
            node = key[len(self._prefix) :]
            if not node or "/" in node:
                continue
            record = decode(node, kv.lease, kv.value)
            if record is not None:
                records[node] = record
        self.records.set(records)
