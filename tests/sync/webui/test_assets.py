"""The web pages stay light and self-contained: every asset local, the total well under 300 kB."""

from __future__ import annotations

import re
from pathlib import Path

from cloud.console.pages import STATIC as CONSOLE
from edge.api.panel import STATIC as PANEL
from sync.webui import STATIC_DIR

# Issue 15: a page under 300 kB. The assets are what a page can load at most (API answers aside).
PAGE_BUDGET = 300 * 1024
_EXTERNAL = re.compile(
    r"""(?:src|href)=["']?(?:https?:)?//|@import\s+url\(\s*["']?https?:|from\s+["']https?:"""
)


def _files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.iterdir() if p.suffix in (".js", ".css", ".html")]


def test_each_side_loads_less_than_the_page_budget() -> None:
    for side in (CONSOLE, PANEL):
        total = sum(p.stat().st_size for p in _files(STATIC_DIR, side))
        assert total < PAGE_BUDGET, (side.name, total)


def test_no_asset_names_another_host() -> None:
    offenders = [p.name for p in _files(STATIC_DIR, CONSOLE, PANEL) if _EXTERNAL.search(p.read_text())]
    assert offenders == []


def test_no_inline_script_or_style_that_the_pages_policy_would_block() -> None:
    for page in (CONSOLE / "index.html", PANEL / "index.html"):
        html = page.read_text()
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, page
        assert "<style" not in html and " style=" not in html, page
    for script in _files(STATIC_DIR, CONSOLE, PANEL):
        assert re.search(r"\bstyle:\s*\"", script.read_text()) is None, script.name
