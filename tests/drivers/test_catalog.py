"""The bundled drivers are documented from their metadata, and the docs and README keep up."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.catalog import BUNDLED, bundled_metadata, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_docs_page_is_generated_from_metadata() -> None:
    page = (ROOT / "docs" / "drivers.md").read_text()
    assert page == render_markdown(), "docs/drivers.md is stale: run `transom driver docs -o docs/drivers.md`"


@pytest.mark.parametrize("path", BUNDLED)
def test_readme_lists_each_bundled_driver(path: str) -> None:
    assert f"`{path}`" in (ROOT / "README.md").read_text()


def test_every_function_of_a_bundled_driver_says_what_it_does() -> None:
    undocumented = [
        f"{meta['class']}.{name}"
        for meta in bundled_metadata()
        for name in meta["functions"]
        if not meta.get("descriptions", {}).get(name)
    ]
    assert not undocumented, f"functions without a docstring: {undocumented}"
