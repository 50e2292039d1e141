"""Fixtures `browser` and `page`: Debian's headless Chromium driven by Playwright for Python.

Playwright's own browser download is never used (it needs the network and pins a build of
its own): the browser is Debian's `/usr/bin/chromium` (`make test` installs it; set
TRANSOM_CHROMIUM to use another). Without it the browser tests skip, and fail under CI.

`page` records what went wrong in the page as it happened — console errors, uncaught page
errors and failed requests — in `page.problems` (a list of strings), so a test can assert that
a walk through the UI produced none. `screenshot(page, name)` saves a full-page PNG under
`test-artifacts/screenshots/` (TRANSOM_TEST_ARTIFACTS overrides the folder).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def chromium_path() -> str | None:
    """The Chromium binary the browser tests drive, or None when none is installed."""
    wanted = os.environ.get("TRANSOM_CHROMIUM") or "/usr/bin/chromium"
    return wanted if os.access(wanted, os.X_OK) else shutil.which("chromium")


def artifacts_dir() -> Path:
    """Where tests leave screenshots for a person to look at (made on first use)."""
    folder = Path(os.environ.get("TRANSOM_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot of `page` as `<name>.png` among the test artifacts."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    binary = chromium_path()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium: `make test` installs Debian's chromium package")
        pytest.skip("no Chromium (Debian's chromium package; `make test` installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs a plain asyncio loop of its own. Once any test module has
    # imported trio_asyncio (the Redis and etcd adapters do), asyncio's loops come from its
    # policy unless this thread names another: name the standard one while the browser runs.
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    try:
        with sync_playwright() as playwright:
            # --no-sandbox: tests run as root in CI, where Chromium refuses its sandbox.
            launched = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox"])
            try:
                yield launched
            finally:
                launched.close()
    finally:
        asyncio.set_event_loop_policy(None)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    problems: list[str] = []
    opened.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    opened.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    opened.on("requestfailed", lambda r: problems.append(f"request failed: {r.method} {r.url} {r.failure}"))
    opened.problems = problems  # type: ignore[attr-defined]
    try:
        yield opened
    finally:
        context.close()
