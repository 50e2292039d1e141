"""The cloud console in Debian's Chromium against real processes: log in, build a room, control it.

The cloud (`transom cloud run`), an edge node (`transom edge run`) and the devices
(`transom simulate`) each run as their own process; the console is driven as a person would,
by labels and roles. Every main page is screenshotted and checked with axe-core.
Cost: about a minute on 2 busy cores (marked slow).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from cli.demo.seed import PREFIX
from edge import __version__ as edge_version
from sync.enrolment import ENROL_PATH, b64, signed_message
from tests.e2e.harness import ADMIN_PASSWORD, free_port
from tests.servers.chromium import screenshot
from tests.webui.a11y import blocking_violations
from tests.webui.live_site import LiveSite, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# Milliseconds a live change may take to reach the page on a busy machine.
LIVE_MS = 60_000


def checked(page: Any, name: str) -> None:
    """Screenshot the page as `name` and require no serious accessibility violation on it."""
    screenshot(page, name)
    assert blocking_violations(page) == [], name


def typed(field: Any, text: str) -> None:
    """Type into a field with suggestions and move on with Tab, as a person does.

    Tab closes the suggestion list (a datalist); Chromium spends the next click on closing it.
    """
    field.fill(text)
    field.press("Tab")


def log_in(page: Any, site: LiveSite) -> None:
    page.goto(site.cloud_url + "/")
    # No token yet: the console sends the browser to the cloud's authorize page, which asks.
    page.get_by_label("User name or e-mail").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sites & edges")).to_be_visible(timeout=LIVE_MS)
    assert "code=" not in page.url  # the code was exchanged and taken out of the address


def test_console_builds_a_room_and_controls_it_live(page: Any, site: LiveSite) -> None:
    device_port = site.simulator("ui-display", "samsung-mdc")
    log_in(page, site)
    edge = page.locator("[data-edge]").filter(has_text="Demo site")
    expect(edge.locator("[data-field='link']")).to_have_text("online", timeout=LIVE_MS)
    checked(page, "console-edges")

    # A zone, shown in the tree.
    page.get_by_role("link", name="Zones").click()
    page.get_by_role("button", name="New zone").click()
    form = page.get_by_role("form", name="New zone")
    form.get_by_label("Name", exact=True).fill("UI Building")
    form.get_by_label("Tags").fill("building")
    form.get_by_role("button", name="Create zone").click()
    expect(page.get_by_role("navigation", name="Zone tree").get_by_text("UI Building")).to_be_visible()
    checked(page, "console-zones")

    # A system: first without a name, so the API's 422 is shown beside the field it names.
    page.get_by_role("link", name="Systems").click()
    page.get_by_role("button", name="New system").click()
    form = page.get_by_role("form", name="New system")
    form.get_by_role("button", name="Create system").click()
    name_field = form.get_by_label("Name", exact=True)
    expect(name_field).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field-error")).to_contain_text("name")
    checked(page, "console-api-error")
    name_field.fill("UI Room")
    form.get_by_label("Zones").select_option(label="UI Building")
    form.get_by_role("button", name="Create system").click()
    expect(page.get_by_role("link", name="UI Room")).to_be_visible()
    checked(page, "console-systems")

    # A module for the new simulated display, on the demo's edge, added to the room.
    page.get_by_role("link", name="Modules").click()
    page.get_by_role("button", name="New module").click()
    form = page.get_by_role("form", name="New module")
    form.get_by_label("Driver", exact=True).select_option(label="Samsung MDC Display")
    form.get_by_label("IP address or host", exact=True).fill("127.0.0.1")
    form.get_by_label("Port", exact=True).fill(str(device_port))
    form.get_by_label("Edge", exact=True).select_option(label="Demo site")
    form.get_by_label("Add to system", exact=True).select_option(label="UI Room")
    form.get_by_role("button", name="Create module").click()
    expect(page.get_by_role("cell", name=f"127.0.0.1:{device_port}")).to_be_visible()
    checked(page, "console-modules")

    # The system page: the module connects live, a function changes its status live.
    page.get_by_role("link", name="Systems").click()
    page.get_by_role("link", name="UI Room").click()
    card = page.locator("[data-module='Display_1']")
    expect(card.locator("[data-key='connected']")).to_have_text("true", timeout=LIVE_MS)
    power = card.locator("form[data-function='power']")
    power.get_by_label("state").select_option("true")
    power.get_by_role("button", name="Run power").click()
    expect(power.get_by_role("status")).to_contain_text("Result", timeout=LIVE_MS)
    expect(card.locator("[data-key='power']")).to_have_text("true", timeout=LIVE_MS)
    checked(page, "console-system")

    # The module page: stop and start through the API, its state and debug log.
    module_id = card.get_by_role("link", name=re.compile(r"^mod-")).inner_text()
    card.get_by_role("link", name=module_id).click()
    expect(page.get_by_role("heading", name="Debug log (live)")).to_be_visible()
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("status").filter(has_text="stop")).to_contain_text("done", timeout=LIVE_MS)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("status").filter(has_text="start")).to_contain_text("done", timeout=LIVE_MS)
    expect(page.locator("dt", has_text="power")).to_be_visible(timeout=LIVE_MS)
    checked(page, "console-module")

    # Settings at admin level on the room, then edited.
    system_id = _id_of(site, "systems", "UI Room")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="New settings").click()
    form = page.get_by_role("form", name="New settings")
    form.get_by_label("Parent (system, zone, module or driver id)", exact=True).fill(system_id)
    form.get_by_label("Encryption level").select_option("admin")
    form.get_by_label("Settings (JSON or YAML)").fill('{"greeting": "hello"}')
    form.get_by_role("button", name="Create settings").click()
    row = page.locator("tr", has_text=system_id)
    expect(row).to_contain_text("hello")
    expect(row).to_contain_text("admin")
    row.get_by_role("button", name=re.compile("^Edit")).click()
    form = page.locator("form[data-resource='settings']")
    form.get_by_label("Settings (JSON or YAML)").fill('{"greeting": "welcome"}')
    form.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text=system_id)).to_contain_text("welcome")
    checked(page, "console-settings")
    stored = _api(site, "GET", f"/systems/{system_id}/settings")
    assert any("welcome" in s["settings_string"] for s in stored)

    # Users and API keys: a new key's secret is shown once.
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("button", name="New API key").click()
    form = page.get_by_role("form", name="New API key")
    form.get_by_label("Name", exact=True).fill("UI panel key")
    form.get_by_label("User", exact=True).select_option(label="admin")
    form.get_by_role("button", name="Create API key").click()
    secret = page.locator("[data-secret] pre").inner_text()
    assert httpx.get(f"{site.cloud_url}{PREFIX}/systems", headers={"x-api-key": secret}).status_code == 200
    checked(page, "console-api-keys")
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("cell", name="admin", exact=True).first).to_be_visible()
    checked(page, "console-users")
    page.get_by_role("link", name="Drivers").click()
    page.get_by_role("link", name="Samsung MDC Display").click()
    expect(page.get_by_role("cell", name="power", exact=True)).to_be_visible()
    checked(page, "console-driver")

    # One search box.
    page.get_by_label("Search everything").fill("UI Room")
    page.get_by_label("Search everything").press("Enter")
    expect(page.get_by_role("region", name="Systems").get_by_text("UI Room")).to_be_visible()
    checked(page, "console-search")
    # Chromium logs each error answer; the 422 above is the one this walk asked for.
    problems = [p for p in page.problems if "status of 422" not in p]  # type: ignore[attr-defined]
    assert problems == [], problems


def test_console_shows_an_edge_go_offline_and_come_back(page: Any, site: LiveSite) -> None:
    log_in(page, site)
    edge = page.locator("[data-edge]").filter(has_text="Demo site")
    expect(edge.locator("[data-field='link']")).to_have_text("online", timeout=LIVE_MS)
    node = edge.locator("[data-node='node-1']")
    expect(node).to_contain_text(edge_version)  # the version the node said in its hello
    expect(node.locator("[data-field='fenced']")).to_have_text("no", timeout=LIVE_MS)  # from its health
    expect(node.get_by_role("link").first).to_be_visible()  # a module it runs
    acked_before = _edge_sync(site)["last_acked_seq"]
    assert site.edge is not None
    site.edge.stop()
    expect(edge.locator("[data-field='link']")).to_have_text("offline", timeout=LIVE_MS)
    # Cut off, the edge's figures are what it last said: shown as of then, never as current.
    heard = edge.locator("[data-field='last-heard']")
    expect(heard).to_contain_text("cut off")
    expect(heard).to_contain_text(re.compile(r"(\d+ s ago|just now) \(at "))
    expect(edge.locator("[data-field='backlog']")).to_contain_text(re.compile(r"^\d+ as of "))
    expect(edge.locator("[data-field='lag']")).to_contain_text("as of")
    checked(page, "console-edge-offline")
    site.start_edge()
    expect(edge.locator("[data-field='link']")).to_have_text("online", timeout=LIVE_MS)
    # What the node sent on its return was acknowledged: the sequence moved, nothing waits.
    expect(edge.locator("[data-field='backlog']")).to_have_text("0", timeout=LIVE_MS)
    expect(heard).not_to_contain_text("cut off")
    assert _edge_sync(site)["last_acked_seq"] > acked_before


def _api(site: LiveSite, method: str, path: str, body: Any = None) -> Any:
    headers = {"x-api-key": site.credentials.api_key}
    url = f"{site.cloud_url}{PREFIX}{path}"
    response = httpx.request(method, url, headers=headers, json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _id_of(site: LiveSite, table: str, name: str) -> str:
    return str(next(d["id"] for d in _api(site, "GET", f"/{table}?limit=1000") if d.get("name") == name))


def _edge_sync(site: LiveSite) -> dict[str, Any]:
    edge = next(e for e in _api(site, "GET", "/edges") if e["name"] == "Demo site")
    sync: dict[str, Any] = edge["sync"]
    return sync


def test_console_writes_a_trigger_adds_it_to_a_room_and_shows_it_fire(page: Any, site: LiveSite) -> None:
    """A trigger written in the console fires at the site: once by its webhook, once by a device's status.

    The room's display (a Samsung MDC simulator behind the real edge node) is set to a low volume and
    unmuted first; the trigger mutes it when the volume passes 60, when its webhook is called, or
    at a moment in 2099 (there to show an `at` condition's error and its fix, never to fire).
    """
    room = site.systems["Demo Room 2"]
    _exec(site, room, "Display_1", "volume", [20])
    _exec(site, room, "Display_1", "unmute", [])
    _wait_muted(site, room, False)
    log_in(page, site)
    page.get_by_role("link", name="Triggers").click()
    page.get_by_role("button", name="New trigger").click()
    form = page.get_by_role("form", name="New trigger")
    form.get_by_label("Name", exact=True).fill("Loud room: mute")
    form.get_by_label("Written for system").select_option(label="Demo Room 2")
    form.get_by_role("button", name="Add a comparison").click()
    comparison = form.get_by_role("group", name="Comparison 1")
    left = comparison.get_by_role("group", name="Left side")
    left.get_by_label("Source").select_option("status")
    typed(left.get_by_label("Module", exact=True), "Display_1")
    typed(left.get_by_label("Status", exact=True), "volume")
    comparison.get_by_label("Operator").select_option("greater_than")
    right = comparison.get_by_role("group", name="Right side")
    right.get_by_label("Source").select_option("constant")
    right.get_by_label("Value").fill("60")
    # A moment far ahead, whose time is left out at first (the API asks for it beside the field).
    form.get_by_role("button", name="Add a time condition").click()
    moment = form.get_by_role("group", name="Time condition 1")
    moment.get_by_label("Met").select_option("at")
    form.get_by_label("Any one condition is enough").check()
    form.get_by_label("A webhook call is a condition").check()
    form.get_by_role("button", name="Add a function call").click()
    call = form.get_by_role("group", name="Function call 1")
    typed(call.get_by_label("Module", exact=True), "Display_1")
    method = call.get_by_label("Function", exact=True)
    typed(method, "mutee")  # a typo: the driver has no such function, and the API says so beside it
    call.get_by_label("Arguments").fill('{"state": true}')
    form.get_by_role("button", name="Create trigger").click()
    expect(method).to_have_attribute("aria-invalid", "true", timeout=LIVE_MS)
    error = call.locator(".field-error")
    expect(error).to_contain_text("actions.functions.0.method")
    expect(error).to_contain_text("has no function 'mutee'")
    checked(page, "console-trigger-error")
    typed(method, "mute")
    form.get_by_role("button", name="Create trigger").click()
    when = moment.get_by_label("Moment")
    expect(when).to_have_attribute("aria-invalid", "true", timeout=LIVE_MS)
    expect(moment.locator(".field-error")).to_contain_text("conditions.time_dependents.0.time: is required")
    expect(method).not_to_have_attribute("aria-invalid", "true")
    when.fill("2099-01-01T08:00")
    form.get_by_role("button", name="Create trigger").click()
    expect(page.get_by_role("heading", name="Loud room: mute", exact=True)).to_be_visible(timeout=LIVE_MS)
    checked(page, "console-trigger")

    # Added to the room: the instance is evaluated at the site, and its page shows that live.
    adding = page.get_by_role("form", name="Add to a system")
    adding.get_by_label("System").select_option(label="Demo Room 2")
    adding.get_by_role("button", name="Add to system").click()
    instance_row = page.locator("tr[data-instance]").filter(has_text="Demo Room 2")
    expect(instance_row).to_contain_text("enabled")
    instance_row.get_by_role("link", name=re.compile("^trig-")).click()
    expect(page.get_by_role("heading", name="Loud room: mute on Demo Room 2")).to_be_visible(timeout=LIVE_MS)
    comparison_state = page.locator("[data-condition='comparison_0']")
    expect(comparison_state).to_have_attribute("data-met", "false", timeout=LIVE_MS)  # volume 20, at the site
    expect(page.locator("[data-field='trigger_count']")).to_have_text("0 times")

    # Its webhook address, as shown, fires it.
    address = page.locator("[data-field='webhook']").inner_text().strip()
    assert address.startswith(f"{site.cloud_url}{PREFIX}/webhook/trig-") and "secret=" in address
    assert httpx.post(address, timeout=30).status_code == 202
    first = page.locator("tr[data-firing='1']")
    expect(first).to_contain_text("webhook", timeout=LIVE_MS)
    expect(first.locator("[data-outcome]")).to_have_attribute("data-outcome", "ok", timeout=LIVE_MS)  # it ran
    _wait_muted(site, room, True)

    # Then the device's own status: the volume passes 60 at the site, the trigger mutes the display.
    _exec(site, room, "Display_1", "unmute", [])
    _wait_muted(site, room, False)
    _exec(site, room, "Display_1", "volume", [70])
    second = page.locator("tr[data-firing='2']")
    expect(second).to_contain_text("Display_1.volume", timeout=LIVE_MS)
    expect(second.locator("[data-outcome]")).to_have_attribute("data-outcome", "ok", timeout=LIVE_MS)
    expect(page.locator("[data-field='trigger_count']")).to_have_text("2 times", timeout=LIVE_MS)
    expect(comparison_state).to_have_attribute("data-met", "true")
    _wait_muted(site, room, True)
    checked(page, "console-trigger-instance")

    # The room's page lists it; the list of triggers says what it watches and does.
    page.get_by_role("link", name="Demo Room 2").click()
    triggers = page.get_by_role("region", name="Triggers")
    expect(triggers.locator("tr[data-instance]")).to_contain_text("2 times")
    page.get_by_role("link", name="Triggers").click()
    row = page.locator("tr", has_text="Loud room: mute")
    expect(row).to_contain_text(re.compile(r"Display_1\.volume > 60 or at \S+2099\S* .+ or webhook"))
    expect(row).to_contain_text('Display_1.mute({"state":true})')
    checked(page, "console-triggers")

    # Edited from the list: the editor opens with what is stored, and saves a change.
    row.get_by_role("button", name="Edit Loud room: mute").click()
    form = page.get_by_role("form", name="Edit trigger Loud room: mute")
    stored_call = form.get_by_role("group", name="Function call 1")
    expect(stored_call.get_by_label("Function", exact=True)).to_have_value("mute")
    form.get_by_label("Description").fill("the room's speakers are too loud for the neighbours")
    form.get_by_label("Debounce (ms)").fill("5000")
    form.get_by_role("button", name="Save trigger").click()
    expect(form.get_by_role("status")).to_have_text("Saved.", timeout=LIVE_MS)
    trigger_id = _id_of(site, "triggers", "Loud room: mute")
    stored = _api(site, "GET", f"/triggers/{trigger_id}")
    assert stored["debounce_period"] == 5000 and stored["description"].startswith("the room's speakers")
    assert stored["actions"]["functions"] == [{"mod": "Display_1", "method": "mute", "args": {"state": True}}]
    problems = [p for p in page.problems if "status of 422" not in p]  # type: ignore[attr-defined]
    assert problems == [], problems


def _exec(site: LiveSite, system_id: str, module: str, method: str, args: list[Any]) -> Any:
    headers = {"x-api-key": site.credentials.api_key}
    url = f"{site.cloud_url}{PREFIX}/systems/{system_id}/{module}/{method}"
    response = httpx.post(url, json=args, headers=headers, timeout=60)
    response.raise_for_status()
    return response.json()


def _wait_muted(site: LiveSite, system_id: str, muted: bool) -> None:
    """Until the cloud has the room's display muted (or not), as the site reported it."""
    wait_for(
        lambda: _state(site, system_id, "Display_1").get("mute") is muted,
        seconds=60,
        what=f"the display's mute {muted}",
    )


def _state(site: LiveSite, system_id: str, module: str) -> dict[str, Any]:
    """A module's status at the cloud, each value decoded (PlaceOS gives JSON text)."""
    values = _api(site, "GET", f"/systems/{system_id}/{module}")
    return {key: json.loads(value) if isinstance(value, str) else value for key, value in values.items()}


def test_console_edits_and_deletes_and_issues_an_enrolment_token(page: Any, site: LiveSite) -> None:
    """Edit a zone, a user and a driver; delete a zone, a system and a module; a token a node enrols with."""
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete …?": yes
    system_id = _api(site, "POST", "/systems", {"name": "Short-lived room"})["id"]
    samsung = site.drivers["drivers.samsung.mdc_display:SamsungMDCDisplay"]
    module = {"driver_id": samsung, "custom_name": "Spare display", "ip": "127.0.0.1", "port": free_port()}
    module_id = _api(site, "POST", "/modules", {**module, "running": False})["id"]
    user_id = _api(site, "POST", "/users", {"name": "Casual user", "email": "casual@example.com"})["id"]
    log_in(page, site)

    # The sites page issues an enrolment token; a new node enrols with it, into this site.
    edge = page.locator("[data-edge]").filter(has_text="Demo site")
    edge.get_by_role("button", name="Enrolment token").click()
    secret = page.locator("[data-secret]")
    expect(secret).to_contain_text("Enrolment token for Demo site")
    token = secret.locator("pre").inner_text().strip()
    checked(page, "console-enrolment-token")
    enrolled = _enrol(site, token, "node-from-console")
    assert enrolled["edge_name"] == "Demo site" and enrolled["edge_key"]

    # A zone: made, edited, deleted.
    page.get_by_role("link", name="Zones").click()
    page.get_by_role("button", name="New zone").click()
    form = page.get_by_role("form", name="New zone")
    form.get_by_label("Name", exact=True).fill("Annex")
    form.get_by_role("button", name="Create zone").click()
    page.get_by_role("button", name="Edit Annex").click()
    form = page.get_by_role("form", name="Edit zone Annex")
    form.get_by_label("Name", exact=True).fill("East annex")
    form.get_by_label("Description").fill("the old wing")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("navigation", name="Zone tree").get_by_text("East annex")).to_be_visible()
    zone_id = _id_of(site, "zones", "East annex")
    assert _api(site, "GET", f"/zones/{zone_id}")["description"] == "the old wing"
    page.get_by_role("button", name="Delete East annex").click()
    expect(page.get_by_role("navigation", name="Zone tree").get_by_text("East annex")).to_have_count(0)
    assert _status(site, f"/zones/{zone_id}") == 404

    # A system and a module, deleted from their lists.
    page.get_by_role("link", name="Systems").click()
    page.get_by_role("button", name="Delete Short-lived room").click()
    expect(page.get_by_role("link", name="Short-lived room")).to_have_count(0)
    assert _status(site, f"/systems/{system_id}") == 404
    page.get_by_role("link", name="Modules").click()
    page.get_by_role("button", name="Delete Spare display").click()
    expect(page.locator(f"tr[data-id='{module_id}']")).to_have_count(0)
    assert _status(site, f"/modules/{module_id}") == 404

    # A user given the support role.
    page.get_by_role("link", name="Users").click()
    page.get_by_role("button", name="Edit Casual user").click()
    form = page.get_by_role("form", name="Edit user Casual user")
    form.get_by_label("Name", exact=True).fill("Support person")
    form.get_by_label("Support", exact=True).check()
    form.get_by_role("button", name="Save").click()
    expect(page.locator(f"tr[data-id='{user_id}']")).to_contain_text("support")
    stored = _api(site, "GET", f"/users/{user_id}")
    assert stored["name"] == "Support person" and stored["support"] is True
    checked(page, "console-user-edited")

    # A driver's description.
    page.get_by_role("link", name="Drivers").click()
    page.get_by_role("button", name="Edit Philips Hue Bridge").click()
    form = page.get_by_role("form", name="Edit driver Philips Hue Bridge")
    form.get_by_label("Description").fill("Hue bridge of the atrium")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("form", name="Edit driver Philips Hue Bridge")).to_have_count(0)
    hue = site.drivers["drivers.philips.hue_bridge:HueBridge"]
    assert _api(site, "GET", f"/drivers/{hue}")["description"] == "Hue bridge of the atrium"
    assert page.problems == []  # type: ignore[attr-defined]


def _status(site: LiveSite, path: str) -> int:
    headers = {"x-api-key": site.credentials.api_key}
    return httpx.get(f"{site.cloud_url}{PREFIX}{path}", headers=headers, timeout=30).status_code


def _enrol(site: LiveSite, token: str, node_id: str) -> dict[str, Any]:
    """Enrol a node with `token` as a device does (an Ed25519 key, the signed request)."""
    key = Ed25519PrivateKey.generate()
    public = b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    signature = b64(key.sign(signed_message(token, node_id, public)))
    body = {"token": token, "node_id": node_id, "public_key": public, "signature": signature}
    response = httpx.post(site.cloud_url + ENROL_PATH, json=body, timeout=30)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer
