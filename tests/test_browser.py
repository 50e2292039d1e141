"""The browser fixtures drive Debian's Chromium and record what goes wrong in a page."""

from __future__ import annotations

from typing import Any

from tests.servers.chromium import screenshot


def test_page_records_console_errors_and_failed_requests(page: Any) -> None:
    page.set_content(
        "<h1>Transom</h1><script>console.error('broken'); fetch('http://127.0.0.1:9/nothing')</script>"
    )
    page.wait_for_function("() => true")
    page.wait_for_timeout(300)
    assert page.inner_text("h1") == "Transom"
    assert any("broken" in p for p in page.problems), page.problems
    assert any("request failed" in p and "/nothing" in p for p in page.problems), page.problems
    assert screenshot(page, "browser-fixture").stat().st_size > 0
