"""Dispatch's counters: every datagram and connection on every dispatch port, in one object.

Each port's counters (PortCounters) classify what arrived, each datagram (or TCP
connection) exactly once, under the first check it fails, in this order:

    received        = rate_limited + malformed + wrong_community + unknown_source + routed
    rate_limited    its source was over the port's per-source limit (rate_limit.py)
    malformed       not an SNMP v1/v2c notification (trap port only: inbound bytes are the driver's)
    wrong_community a community the port does not accept, or SNMPv3 (trap port only)
    unknown_source  no module owns the source (its ip or dispatch_sources)
    routed          queued for every module owning the source

and then count what became of each routed item at each owning module (one item can go
to two modules that share a source):

    delivered       the module's function returned
    failed          it raised (the driver's error, or the module is not running)
    dropped         the module's queue was full (it is behind), so the item was not queued

On a TCP port, received..routed count connections, and `chunks` counts the reads of the
routed connections, each then delivered, failed or dropped.

DispatchCounters holds every port's counters for the node's lifetime (a listener that is
replaced keeps its port's counters, so they only grow): `as_json()` is for the edge
health document, `samples()` for a Prometheus metrics endpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

# What `samples()` names its counter (Prometheus: a counter's name ends in _total).
METRIC = "transom_dispatch_total"


@dataclass
class PortCounters:
    """One dispatch port's counts (see the module docstring for what each means)."""

    received: int = 0
    rate_limited: int = 0
    malformed: int = 0
    wrong_community: int = 0
    unknown_source: int = 0
    routed: int = 0
    chunks: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0

    def as_json(self) -> dict[str, int]:
        return asdict(self)


OUTCOMES = tuple(field.name for field in fields(PortCounters))


class Sample(NamedTuple):
    """One counter value, as a metrics endpoint exposes it: name{labels} value."""

    name: str
    labels: dict[str, str]
    value: int


class DispatchCounters:
    """Every dispatch port's PortCounters, by name ("traps", "udp/5000", "tcp/5001")."""

    def __init__(self) -> None:
        self._ports: dict[str, PortCounters] = {}

    def port(self, name: str) -> PortCounters:
        """The counters of port `name`, created at zero the first time."""
        counters = self._ports.get(name)
        if counters is None:
            counters = self._ports[name] = PortCounters()
        return counters

    def as_json(self) -> dict[str, dict[str, int]]:
        return {name: counters.as_json() for name, counters in sorted(self._ports.items())}

    def samples(self) -> list[Sample]:
        """Every counter as `transom_dispatch_total{port=..., outcome=...}`, for a metrics endpoint."""
        return [
            Sample(METRIC, {"port": name, "outcome": outcome}, value)
            for name, counters in sorted(self._ports.items())
            for outcome, value in counters.as_json().items()
        ]
