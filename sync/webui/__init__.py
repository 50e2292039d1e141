"""Transom's own web pages: the assets the cloud console and the edge room panel share.

    static/transom.css    the design system: colour, type and spacing scales, dark and light
    static/dom.js         a tiny element builder (no framework: pages are small and must load fast)
    static/http.js        fetch with the caller's credential; API errors in words, per field
    static/control.js     the control WebSocket (bind/unbind/exec/debug), reconnecting and rebinding
    static/schema_form.js a form per driver function, from its JSON schema or PlaceOS type table

`install_pages` serves them under ASSET_PATH and a side's own page at `/`. Both sides
serve the same files; neither imports the other (they meet here, in `sync`).
"""

from __future__ import annotations

from sync.webui.pages import ASSET_PATH, PAGE_HEADERS, STATIC_DIR, install_pages

__all__ = ["ASSET_PATH", "PAGE_HEADERS", "STATIC_DIR", "install_pages"]
