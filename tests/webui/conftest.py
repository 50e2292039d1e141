"""One live site (cloud, edge node, simulators) shared by the browser tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.webui.live_site import LiveSite, live_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: Any) -> Iterator[LiveSite]:
    with live_site(tmp_path_factory.mktemp("site")) as running:
        yield running
