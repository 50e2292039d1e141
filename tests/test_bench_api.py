"""`transom bench api` runs end to end (quick load: 1,000 systems, 50 clients) with well-formed figures."""

from __future__ import annotations

import math

import pytest

from cli import bench


@pytest.mark.slow
def test_bench_api_quick_returns_well_formed_figures() -> None:
    figures = {f.name: f for f in bench.run("api", quick=True)}
    for figure in figures.values():
        assert math.isfinite(figure.value) and figure.value >= 0, figure
    assert figures["list p99"].target == 50 and figures["delivery p99"].target == 100
    assert figures["delivered of 2,000/s changes"].value == 1.0  # every change reached its client
    assert figures["q search rate"].value > 0


def test_bench_api_is_listed() -> None:
    assert "api" in bench.available()
