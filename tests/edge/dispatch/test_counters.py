"""DispatchCounters: one object for every port's counters, read as health JSON and as metric samples."""

from __future__ import annotations

from edge.dispatch.counters import METRIC, OUTCOMES, DispatchCounters


def test_each_port_has_one_set_of_counters_that_health_and_metrics_read() -> None:
    counters = DispatchCounters()
    traps = counters.port("traps")
    traps.received, traps.malformed = 3, 3
    assert counters.port("traps") is traps  # a replaced listener keeps counting where it was
    counters.port("udp/5000").received = 1
    assert list(counters.as_json()) == ["traps", "udp/5000"]
    assert counters.as_json()["traps"]["malformed"] == 3
    samples = counters.samples()
    assert len(samples) == 2 * len(OUTCOMES)
    assert {s.name for s in samples} == {METRIC} and METRIC.endswith("_total")
    by_label = {(s.labels["port"], s.labels["outcome"]): s.value for s in samples}
    assert by_label[("traps", "malformed")] == 3 and by_label[("udp/5000", "received")] == 1
    assert by_label[("traps", "delivered")] == 0
