"""The trap port under hostile datagrams (hypothesis): each counted once, log bounded, good traps delivered.

A real trap port on loopback (serve_trap_dispatch, as the node runs it) with one module
owning 127.0.0.1. Hypothesis sends it random bytes, mutations of a valid trap and valid
SNMP headers with random bodies, from that owned address and from a stranger's, then one
good trap: that trap must arrive, every datagram must be counted under exactly one
outcome, and the log must hold at most one line per kind of trouble per source.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.dispatch.counters import PortCounters
from edge.dispatch.rate_limit import DATAGRAMS
from edge.dispatch.trap_receiver import serve_trap_dispatch
from tests.edge.dispatch.traffic import VALID, mutate, trap_bytes, with_header
from tests.edge.node_harness import wait_for

KNOWN, STRANGER = "127.0.0.1", "127.0.0.5"
OUTCOMES = ("rate_limited", "malformed", "wrong_community", "unknown_source", "routed")
WAIT = 30.0


datagrams = st.one_of(
    st.binary(max_size=300),
    st.tuples(
        st.sampled_from(["flip", "truncate", "insert", "delete"]), st.integers(0, 10_000), st.integers(0, 255)
    ).map(partial(mutate, VALID)),
    st.binary(max_size=200).map(with_header(1, b"public")),  # v2c, right community, random PDU
    st.binary(max_size=200).map(with_header(0, b"public")),  # v1
    st.binary(max_size=50).map(with_header(1, b"intruder")),
)
sent = st.lists(st.tuples(datagrams, st.sampled_from([KNOWN, STRANGER])), max_size=25)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def run_port(
    batch: list[tuple[bytes, str]], sentinel: bytes
) -> tuple[PortCounters, list[Any], list[logging.LogRecord]]:
    """Send `batch`, then `sentinel` from KNOWN, to a fresh trap port; wait until all are counted."""
    delivered: list[Any] = []

    async def deliver(module_id: str, trap: Any) -> None:
        delivered.append(trap)

    def owners(source: str) -> list[str]:
        return ["mod-ups"] if source == KNOWN else []

    lines = Lines()
    logging.getLogger("edge.dispatch").addHandler(lines)
    try:
        async with trio.open_nursery() as nursery:
            port, stats = await nursery.start(
                partial(serve_trap_dispatch, 0, owners, deliver, host="127.0.0.1")
            )
            senders = {}
            for source in (KNOWN, STRANGER):
                senders[source] = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
                await senders[source].bind((source, 0))
            for data, source in [*batch, (sentinel, KNOWN)]:
                await senders[source].sendto(data, ("127.0.0.1", port))
            await wait_for(lambda: stats.received == len(batch) + 1 and stats.delivered == stats.routed, WAIT)
            for sock in senders.values():
                sock.close()
            nursery.cancel_scope.cancel()
    finally:
        logging.getLogger("edge.dispatch").removeHandler(lines)
    return stats, delivered, lines.records


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=sent)
def test_hostile_datagrams_are_each_counted_once_and_good_traps_still_arrive(
    batch: list[tuple[bytes, str]],
) -> None:
    stats, delivered, records = trio.run(run_port, batch, trap_bytes("sentinel"))
    counted = stats.as_json()
    assert counted["received"] == len(batch) + 1
    assert counted["received"] == sum(counted[outcome] for outcome in OUTCOMES)
    assert counted["rate_limited"] == 0  # fewer than a burst
    # the good trap came through, last, and so did each routed datagram, once
    assert delivered and ["1.3.6.1.2.1.1.5.0", "sentinel"] in delivered[-1]["varbinds"]
    assert counted["delivered"] == counted["routed"] == len(delivered)
    assert counted["failed"] == counted["dropped"] == 0
    # what cannot be BER's start is malformed, whoever sent it
    assert counted["malformed"] >= sum(1 for data, _ in batch if not data or data[0] != 0x30)
    # from the stranger nothing is routed
    assert counted["routed"] <= 1 + sum(1 for _, source in batch if source == KNOWN)
    # one line, no traceback, at most once per kind of trouble per source
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    assert len(records) <= 3 * 2


async def test_a_flood_from_one_source_is_rate_limited_and_others_still_deliver() -> None:
    delivered: list[Any] = []

    async def deliver(module_id: str, trap: Any) -> None:
        delivered.append(trap)

    flood = 3 * int(DATAGRAMS.burst)
    lines = Lines()
    logging.getLogger("edge.dispatch").addHandler(lines)
    try:
        async with trio.open_nursery() as nursery:
            port, stats = await nursery.start(
                partial(
                    serve_trap_dispatch,
                    0,
                    lambda s: ["mod-ups"] if s == KNOWN else [],
                    deliver,
                    host="127.0.0.1",
                )
            )
            with (
                trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as hostile,
                trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM) as ups,
            ):
                await hostile.bind(("127.0.0.9", 0))
                await ups.bind((KNOWN, 0))
                started = time.monotonic()
                for n in range(flood):
                    await hostile.sendto(b"\x30\x05garbage%d" % n, ("127.0.0.1", port))
                    if n % 100 == 0:
                        await ups.sendto(trap_bytes(f"good-{n}"), ("127.0.0.1", port))
                await wait_for(
                    lambda: stats.received == flood + flood // 100 and stats.delivered == flood // 100, WAIT
                )
                elapsed = time.monotonic() - started
            nursery.cancel_scope.cancel()
    finally:
        logging.getLogger("edge.dispatch").removeHandler(lines)
    # the hostile source got its burst and its rate, no more; the UPS lost nothing
    let_through = stats.malformed
    assert let_through + stats.rate_limited == flood
    assert let_through <= DATAGRAMS.burst + DATAGRAMS.rate * elapsed + 1
    assert [t["varbinds"][-1][1] for t in delivered] == [f"good-{n}" for n in range(0, flood, 100)]
    assert len(lines.records) == 2  # one line for its garbage, one for its excess
