"""`transom bench ui`: page weight and first paint of the console and the room panel, on loopback.

Real processes (`transom cloud run`, `transom edge run`, simulators; tests/webui/live_site.py)
and Debian's Chromium. Each load is in a fresh browser context (a cold cache, as a tablet
after a reboot); figures are medians over the loads, read from the browser's Performance API:
weight is every byte the page fetched (document, CSS, scripts, API answers; encoded sizes),
first paint is first-contentful-paint, ready is when the page's live content is on screen.
Targets are issue 15's: under 300 kB and a first paint under 1 s.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx

from cli.bench import Figure
from tests.e2e.harness import ADMIN_PASSWORD
from tests.servers.chromium import chromium_path
from tests.webui.live_site import live_site

DESCRIPTION = "ui: console and room panel page weight (kB) and first paint (ms), cold cache, loopback"

LOADS = 7
QUICK_LOADS = 2
WEIGHT_TARGET_KB = 300.0
PAINT_TARGET_MS = 1000.0

_MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const bytes = (nav ? nav.encodedBodySize : 0) + resources.reduce((n, r) => n + r.encodedBodySize, 0);
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  return { bytes, paint: paint ? paint.startTime : null, requests: resources.length + 1 };
}"""


def _load(browser: Any, url: str, ready: str, init_script: str = "") -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(ready, timeout=60_000)
        shown = float(page.evaluate("() => performance.now()"))
        page.wait_for_load_state("networkidle")  # then count every byte the page went on to fetch
        measured: dict[str, float] = page.evaluate(_MEASURE)
        return {**measured, "ready": shown}
    finally:
        context.close()


def _figures(label: str, loads: list[dict[str, float]]) -> list[Figure]:
    n = len(loads)
    return [
        Figure(
            f"{label} page weight (median of {n})",
            round(statistics.median(x["bytes"] for x in loads) / 1024, 1),
            "kB",
            WEIGHT_TARGET_KB,
            "lower",
        ),
        Figure(
            f"{label} first contentful paint (median of {n})",
            round(statistics.median(x["paint"] for x in loads), 1),
            "ms",
            PAINT_TARGET_MS,
            "lower",
        ),
        Figure(
            f"{label} live content shown (median of {n})",
            round(statistics.median(x["ready"] for x in loads), 1),
            "ms",
            None,
            "lower",
        ),
    ]


def run(quick: bool) -> list[Figure]:
    binary = chromium_path()
    if binary is None:
        raise RuntimeError("no Chromium: install Debian's chromium package (make test does)")
    from playwright.sync_api import sync_playwright

    loads = QUICK_LOADS if quick else LOADS
    with tempfile.TemporaryDirectory() as tmp, live_site(Path(tmp)) as site, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        try:
            token = httpx.post(
                f"{site.cloud_url}/auth/oauth/token",
                data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
            ).json()["access_token"]
            # The console's tab storage, as its own login leaves it (auth.js).
            seed = (
                "sessionStorage.setItem('transom.console.token', JSON.stringify("
                f"{{access_token: '{token}', expires_at: Date.now() / 1000 + 3000}}))"
            )
            console = [
                _load(browser, f"{site.cloud_url}/#/edges", "[data-edge] [data-field='link']", seed)
                for _ in range(loads)
            ]
            room = site.systems["Demo Room 1"]
            key = site.credentials.api_key
            panel_seed = (
                "localStorage.setItem('transom.panel.credential', JSON.stringify("
                f"{{kind: 'api_key', value: '{key}'}}));"
                f"localStorage.setItem('transom.panel.room', '{room}')"
            )
            panel = [
                _load(browser, f"{site.edge_url}/", "[data-module='Display_1'] .badge.ok", panel_seed)
                for _ in range(loads)
            ]
        finally:
            browser.close()
    return [*_figures("console (sites & edges)", console), *_figures("room panel (a room)", panel)]
