"""The room panel in Debian's Chromium against real processes: it controls a room with the cloud stopped.

The edge node (`transom edge run`) serves the panel; the display is `transom simulate
samsung-mdc`. With the cloud process stopped the panel says the cloud is unreachable, still
powers the display on, sets its volume and mutes and unmutes it (each status comes back from
the device through the node), and shows the changes waiting to sync; when the cloud returns
the backlog drains and the cloud has the display's new power state and volume. Cost about a
minute (slow).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from cli.demo.seed import PREFIX
from tests.e2e.harness import ADMIN_PASSWORD
from tests.servers.chromium import screenshot
from tests.webui.a11y import blocking_violations
from tests.webui.live_site import LiveSite, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LIVE_MS = 60_000
TABLET = {"width": 1024, "height": 768}  # a 10-inch tablet, landscape
PHONE = {"width": 390, "height": 844}


def _get(url: str, key: str) -> Any:
    try:
        response = httpx.get(url, headers={"x-api-key": key}, timeout=10)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def test_panel_powers_a_display_on_with_the_cloud_stopped(page: Any, site: LiveSite) -> None:
    key = site.credentials.api_key
    room = site.systems["Demo Room 2"]
    page.set_viewport_size(TABLET)
    # A fixed device opens the panel with its key in the address (PlaceOS's convention).
    page.goto(f"{site.edge_url}/?x-api-key={key}")
    expect(page.get_by_role("heading", name="Choose a room")).to_be_visible(timeout=LIVE_MS)
    assert "x-api-key" not in page.url
    expect(page.locator("#link")).to_have_text("Cloud connected", timeout=LIVE_MS)
    screenshot(page, "panel-rooms")
    assert blocking_violations(page) == []

    page.get_by_role("button", name=re.compile("^Demo Room 2")).click()
    display = page.get_by_role("region", name="Display 1")
    expect(display.get_by_text("Connected", exact=True)).to_be_visible(timeout=LIVE_MS)
    display.get_by_role("button", name="Off", exact=True).click()  # the simulator starts powered on
    expect(display.get_by_text("Power: false")).to_be_visible(timeout=LIVE_MS)

    assert site.cloud is not None
    site.cloud.stop()
    offline = page.locator("#offline")
    expect(offline).to_contain_text("Cloud unreachable", timeout=LIVE_MS)
    expect(page.locator("#link")).to_have_text("Cloud offline")

    display.get_by_role("button", name="On", exact=True).click()
    expect(display.get_by_text("Power: true")).to_be_visible(timeout=LIVE_MS)
    expect(display.get_by_role("button", name="On", exact=True)).to_have_attribute("aria-pressed", "true")
    # Volume and mute work offline too; each control shows what the display reports back.
    display.get_by_role("slider", name="Volume").fill("40")
    expect(display.locator(".readout")).to_have_text("40", timeout=LIVE_MS)
    mute = display.get_by_role("button", name="Mute")
    expect(mute).to_have_attribute("aria-pressed", "false", timeout=LIVE_MS)  # the simulator starts unmuted
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true", timeout=LIVE_MS)
    expect(display.get_by_role("status")).to_have_text("Display 1 mute: done", timeout=LIVE_MS)
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "false", timeout=LIVE_MS)
    expect(display.get_by_role("status")).to_have_text("Display 1 unmute: done", timeout=LIVE_MS)
    # What the node observed waits in its outbox for the cloud.
    expect(offline).to_contain_text(re.compile(r"\d+ changes? waits? to sync"), timeout=LIVE_MS)
    screenshot(page, "panel-room-offline")
    assert blocking_violations(page) == []
    page.set_viewport_size(PHONE)
    # Usable on a phone: nothing wider than the screen (no sideways scrolling to reach a control).
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "panel-room-phone")
    assert blocking_violations(page) == []

    site.start_cloud()
    expect(page.locator("#link")).to_have_text("Cloud connected", timeout=LIVE_MS)
    expect(offline).to_have_count(0)
    wait_for(
        lambda: (_get(f"{site.edge_url}{PREFIX}/edge/cloud", key) or {}).get("backlog") == 0,
        seconds=60,
        what="the node's backlog drained",
    )
    power = f"{site.cloud_url}{PREFIX}/systems/{room}/Display_1/power"
    # The state route may answer the value itself or (PlaceOS) its JSON text.
    wait_for(lambda: _get(power, key) in (True, "true"), seconds=60, what="the cloud seeing power on")
    volume = f"{site.cloud_url}{PREFIX}/systems/{room}/Display_1/volume"
    wait_for(lambda: _get(volume, key) in (40, "40"), seconds=60, what="the cloud seeing volume 40")
    problems = [p for p in page.problems if "ERR_CONNECTION_REFUSED" not in p]  # type: ignore[attr-defined]
    assert problems == [], problems  # only the cloud's own absence, nothing of the panel's


def test_panel_refuses_a_wrong_key_then_signs_in_with_a_cloud_token(page: Any, site: LiveSite) -> None:
    page.emulate_media(color_scheme="dark")  # the dark theme gets its own accessibility check
    page.goto(f"{site.edge_url}/")
    page.get_by_label("Key or token").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    field = page.get_by_label("Key or token")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error")).to_contain_text("not valid")
    screenshot(page, "panel-login-dark")
    assert blocking_violations(page) == []

    token = httpx.post(
        f"{site.cloud_url}/auth/oauth/token",
        data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
        timeout=30,
    ).json()["access_token"]
    page.get_by_label("Sign in with").select_option(label="Access token from the cloud")
    field.fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose a room")).to_be_visible(timeout=LIVE_MS)
    page.get_by_role("button", name=re.compile("^Demo Room 1")).click()
    expect(page.get_by_role("region", name="Display 1").get_by_text("Connected", exact=True)).to_be_visible(
        timeout=LIVE_MS
    )
    expect(page.locator("#link")).to_have_text("Cloud connected", timeout=LIVE_MS)
    screenshot(page, "panel-room-dark")
    assert blocking_violations(page) == []
