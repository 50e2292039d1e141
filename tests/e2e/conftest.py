"""Every process a test started is killed when it ends, pass or fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Proc


@pytest.fixture(autouse=True)
def reap() -> Iterator[None]:
    yield
    Proc.reap_all()
