"""PlaceOS's own Backoffice, served by the cloud behind a proxy, sets up a building as an integrator would.

Needs a built PlaceOS Backoffice (PlaceOS/backoffice, built from its public source outside
the repository: its licence is CC BY-NC-SA, so no build is ever committed) in the folder
named by TRANSOM_BACKOFFICE_DIR (the build's `dist/apps/backoffice`); without it the test
skips and says so. Everything else is real and local: `transom cloud run --www` behind
Debian's nginx on another port (`--public-url` the proxy's origin, `--trust-proxy`), an
edge node (`transom edge run`) linked to it, a PJLink projector simulator, and Debian's
headless Chromium (tests/servers/chromium.py). Through Backoffice's own pages it:

1. logs in on the proxy's origin (login form, then the authorization-code flow in an iframe);
2. creates a zone tree (a building, a level in it) and a system in the level;
3. adds a module for the simulated projector on the edge, starts it, and sees it connect live;
4. executes `power(true)` and sees it in View State;
5. edits and saves the system's settings (YAML);
6. creates a user and a trigger;
7. opens every page of the navigation and every tab of what it made.

No step may log a console error, fail a request, or get an HTTP error from the cloud.
Each step's result is printed (pytest -s) and a screenshot saved under test-artifacts/.
Cost: about 2-3 minutes (processes start, the app loads, each page is opened); marked slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.chromium import screenshot
from tests.servers.nginx import ReverseProxy
from tests.servers.ports import free_port

pytestmark = pytest.mark.slow

BACKOFFICE_ENV = "TRANSOM_BACKOFFICE_DIR"
TRANSOM = [sys.executable, "-m", "cli"]
ADMIN_PASSWORD = "backoffice-admin-pw-1"
# Processes start in seconds; under the shared machine's load, allow this long.
START_SECONDS = 90
# An element the app shows after an API round trip (a list, a saved form) appears within this.
UI_MS = 30_000
# The module's `connected` arrives through the edge link and the control WebSocket.
CONNECT_MS = 60_000


def _backoffice_dir() -> Path:
    folder = os.environ.get(BACKOFFICE_ENV)
    if not folder:
        pytest.skip(
            f"{BACKOFFICE_ENV} is not set: build PlaceOS Backoffice (github.com/PlaceOS/backoffice, "
            "CC BY-NC-SA: never commit a build) outside the repository and point it at dist/apps/backoffice"
        )
    path = Path(folder)
    if not (path / "index.html").is_file() or not (path / "oauth-resp.html").is_file():
        pytest.skip(f"{BACKOFFICE_ENV}={folder!r} holds no built Backoffice (index.html and oauth-resp.html)")
    return path


@dataclass
class Stack:
    """The running processes and where to reach them."""

    cloud_url: str
    public_url: str
    device_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {name}\n{path.read_text(errors='replace')[-3000:]}" for name, path in self.logs.items()
        )


def _spawn(
    stack: Stack, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None
) -> None:
    log = log_dir / f"{name}.log"
    stack.logs[name] = log
    with log.open("wb") as out:
        stack.processes.append(
            subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        )


def _wait_until(check: Callable[[], bool], what: str, stack: Stack, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen in {seconds} s\n{stack.log_tails()}")


def _token(base: str) -> str:
    grant = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}
    answer = httpx.post(f"{base}/auth/oauth/token", params=grant, timeout=10)
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture
def stack(tmp_path: Path, reverse_proxy: Callable[[int], ReverseProxy]) -> Iterator[Stack]:
    """Simulator, cloud (serving Backoffice) behind nginx, and an edge node linked to the cloud."""
    backoffice = _backoffice_dir()
    www = tmp_path / "www"
    www.mkdir()
    (www / "backoffice").symlink_to(backoffice)
    cloud_port, device_port, edge_port = free_port(), free_port(), free_port()
    proxy = reverse_proxy(cloud_port)
    running = Stack(cloud_url=f"http://127.0.0.1:{cloud_port}", public_url=proxy.url, device_port=device_port)
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        _spawn(running, "simulator", [*TRANSOM, "simulate", "pjlink", "--port", str(device_port)], logs)
        cloud = [
            *TRANSOM,
            "cloud",
            "run",
            "--data-dir",
            str(tmp_path / "cloud"),
            "--listen",
            f"127.0.0.1:{cloud_port}",
        ]
        cloud += ["--www", str(www), "--public-url", proxy.url, "--trust-proxy", "127.0.0.1"]
        _spawn(running, "cloud", cloud, logs, env={"TRANSOM_ADMIN_PASSWORD": ADMIN_PASSWORD})
        _wait_until(
            lambda: httpx.get(f"{proxy.url}/api/engine/v2/version", timeout=5).status_code == 200,
            "the cloud answering through the proxy",
            running,
        )
        issued = subprocess.run(
            [*TRANSOM, "cloud", "edge-key", "Site A", "--data-dir", str(tmp_path / "cloud")],
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
            check=True,
        )
        edge = [*TRANSOM, "edge", "run", "--data-dir", str(tmp_path / "edge"), "--cloud", running.cloud_url]
        edge += ["--edge-key", issued.stdout.strip(), "--listen", f"127.0.0.1:{edge_port}"]
        _spawn(running, "edge", edge, logs)
        # The driver is an installed Python package: an admin adds its document (Backoffice
        # would pull it from a repository, which Transom does not have).
        headers = {"Authorization": f"Bearer {_token(proxy.url)}"}
        driver = {"file_name": "drivers.pjlink.projector:PJLinkProjector", "name": "PJLink projector"}
        made = httpx.post(f"{proxy.url}/api/engine/v2/drivers", json=driver, headers=headers, timeout=10)
        assert made.status_code == 201, made.text
        yield running
    finally:
        for process in running.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Walk:
    """The page, the problems it has seen, and each step's result (printed at the end)."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.results: list[tuple[str, str]] = []
        self.http_errors: list[str] = []
        page.on(
            "response",
            lambda r: (
                self.http_errors.append(f"HTTP {r.status} {r.request.method} {r.url}")
                if r.status >= 400
                else None
            ),
        )

    def problems(self) -> list[str]:
        # ERR_ABORTED is the app cancelling its own request (it left the page, or a newer search
        # replaced it), not a failure of the server's.
        failed = [p for p in self.page.problems if "net::ERR_ABORTED" not in p]
        return [*failed, *self.http_errors]

    def step(self, name: str) -> None:
        """Record a step as passed if it left no problem; fail the test naming them if it did."""
        screenshot(self.page, f"backoffice-{len(self.results) + 1:02d}-{name}")
        found = self.problems()
        self.results.append((name, "ok" if not found else f"FAILED: {found}"))
        print(f"step {name}: {found or 'ok'}", flush=True)
        assert not found, f"{name}: {found}"

    def go(self, route: str) -> None:
        """Navigate inside the app, as its links do (no reload: the session and socket stay)."""
        self.page.evaluate("route => { window.location.hash = route }", f"#/{route}")
        self.page.wait_for_timeout(1500)  # let the page load what it shows (and report any failure)

    def save_dialog(self) -> None:
        self.page.click("mat-dialog-container button:has-text('Save')")
        self.page.wait_for_selector("mat-dialog-container", state="detached", timeout=UI_MS)

    def pick(self, placeholder: str, text: str) -> None:
        """Type into an item-search field and choose the first match."""
        self.page.fill(f"input[placeholder='{placeholder}']", text)
        self.page.locator("mat-option").filter(has_text=text).first.click(timeout=UI_MS)


def test_backoffice_sets_up_a_building_behind_a_proxy(stack: Stack, page: Any) -> None:
    walk = Walk(page, stack.public_url)
    headers = {"Authorization": f"Bearer {_token(stack.public_url)}"}
    api = httpx.Client(base_url=f"{stack.public_url}/api/engine/v2", headers=headers, timeout=10)

    # 1. Log in on the proxy's origin.
    page.goto(f"{stack.public_url}/backoffice/")
    page.wait_for_url("**/auth/login**", timeout=UI_MS)
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url("**/backoffice/#/**", timeout=UI_MS)
    page.wait_for_selector("text=Systems", timeout=UI_MS)
    walk.step("login")

    # 2. A zone tree and a system in it.
    walk.go("zones")
    page.click("button[mattooltip='New zone']")
    page.fill("input[formcontrolname=name]", "HQ")
    page.fill("input[placeholder='Zone tags...']", "building")
    page.keyboard.press("Enter")
    walk.save_dialog()
    page.click("button[mattooltip='New zone']")
    walk.pick("Search for parent-zone...", "HQ")
    page.fill("input[formcontrolname=name]", "Level 1")
    page.fill("input[placeholder='Zone tags...']", "level")
    page.keyboard.press("Enter")
    walk.save_dialog()
    zones = {z["name"]: z for z in api.get("/zones").json()}
    assert zones["Level 1"]["parent_id"] == zones["HQ"]["id"] and zones["HQ"]["tags"] == ["building"]
    walk.go(f"zones/{zones['HQ']['id']}/about")
    walk.step("zone tree")

    walk.go("systems")
    page.click("button[mattooltip='New system']")
    walk.pick("Search for zone...", "Level 1")
    page.fill("input[formcontrolname=name]", "Boardroom")
    walk.save_dialog()
    system = next(s for s in api.get("/systems").json() if s["name"] == "Boardroom")
    assert system["zones"] == [zones["Level 1"]["id"]]
    walk.step("system")

    # 3. A module for the simulated projector, on the edge; started, it connects live.
    device_port = str(stack.device_port)
    walk.go(f"systems/{system['id']}/modules")
    page.click("button:has-text('Add new')")
    walk.pick("Search for driver...", "PJLink")
    page.fill("input[formcontrolname=ip]", "127.0.0.1")
    page.fill("input[formcontrolname=port]", device_port)
    walk.pick("Search for edge...", "Site A")
    walk.save_dialog()
    dot = page.locator("div[bind=connected]").first
    dot.wait_for(timeout=UI_MS)
    dot.click()  # Backoffice's power toggle: start the module
    page.wait_for_selector("div[bind=connected].bg-success", timeout=CONNECT_MS)
    module = api.get("/modules", params={"control_system_id": system["id"]}).json()[0]
    assert module["running"] is True and module["edge_id"] and module["port"] == int(device_port)
    walk.step("module connects live")

    # 4. Execute power(true); View State shows it.
    page.reload()
    page.wait_for_selector("div[bind=connected].bg-success", timeout=CONNECT_MS)
    page.click("text=Select module")
    page.locator("mat-option").filter(has_text="Display 1").click()
    page.locator("select-module-method mat-select").click()  # shown once the module is chosen
    page.locator("mat-option").filter(has_text="power").first.click()
    page.locator("function-arguments input").first.fill("true")
    with page.expect_response(lambda r: r.url.endswith("/Display_1/power")) as executed:
        page.locator("execute-method-field button:has-text('Execute')").click()
    assert executed.value.status == 200
    walk.step("execute power(true)")
    page.locator("button[aria-haspopup=menu]").last.click()
    page.locator("button[mat-menu-item]:has-text('View State')").click()
    # The state is shown in an editor, one value per line, with non-breaking spaces.
    shown = "(document.querySelector('mat-dialog-container')?.innerText || '').replace(/\u00a0/g, ' ')"
    page.wait_for_function(f"{shown}.includes('\"power_state\"')", timeout=UI_MS)
    assert '"power": true' in page.evaluate(shown)
    walk.step("view state")
    page.keyboard.press("Escape")

    # 5. Edit and save the system's settings (YAML).
    walk.go(f"systems/{system['id']}/about")
    page.locator(".mat-tab-label:has-text('Unencrypted')").click()
    page.locator("a-settings-form .view-lines:visible").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("input: hdmi1\nvolume: 40\n")  # at once: Backoffice parses each keystroke
    with page.expect_response(lambda r: "/api/engine/v2/settings" in r.url and r.request.method != "GET"):
        page.locator("a-settings-form button:has-text('Save')").first.click()
    saved = api.get("/settings", params={"parent_id": system["id"]}).json()
    assert [s["settings_string"] for s in saved] == ["input: hdmi1\nvolume: 40\n"]
    walk.step("settings saved")

    # 6. A user and a trigger.
    walk.go("users")
    page.click("button[mattooltip='New user']")
    page.fill("input[formcontrolname=first_name]", "Ivy")
    page.fill("input[formcontrolname=last_name]", "Integrator")
    page.fill("input[formcontrolname=email]", "ivy@example.com")
    page.fill("input[formcontrolname=password]", "integrator pw 1")
    page.fill("input[formcontrolname=confirm_password]", "integrator pw 1")
    walk.save_dialog()
    assert any(u["email"] == "ivy@example.com" for u in api.get("/users").json())
    walk.step("user")
    walk.go("triggers")
    page.click("button[mattooltip='New trigger']")
    page.fill("input[formcontrolname=name]", "Display off at night")
    walk.save_dialog()
    assert [t["name"] for t in api.get("/triggers").json()] == ["Display off at night"]
    walk.step("trigger")

    # 7. Every page of the navigation, and every tab of what was made.
    routes = sorted(
        {
            href.removeprefix("#/").split("/")[0]
            for href in page.locator("a[href^='#/']").evaluate_all(
                "links => links.map(a => a.getAttribute('href'))"
            )
        }
    )
    assert {"systems", "modules", "zones", "drivers", "triggers", "users", "domains"} <= set(routes), routes
    for route in [*routes, "mqtt-dashboard"]:  # the alerts dashboard opens /api/mqtt/
        walk.go(route)
    trigger = api.get("/triggers").json()[0]
    user = next(u for u in api.get("/users").json() if u["email"] == "ivy@example.com")
    driver = api.get("/drivers").json()[0]
    domain = api.get("/domains").json()[0]
    for item in (
        f"systems/{system['id']}",
        f"zones/{zones['HQ']['id']}",
        f"modules/{module['id']}",
        f"drivers/{driver['id']}",
        f"triggers/{trigger['id']}",
        f"users/{user['id']}",
        f"domains/{domain['id']}",
    ):
        walk.go(f"{item}/about")
        tabs = page.locator("a.mat-tab-link, [mat-tab-link]").evaluate_all(
            "t => t.map(a => a.getAttribute('href'))"
        )
        for tab in tabs:
            if tab and tab.startswith("#/"):
                walk.go(tab.removeprefix("#/"))
    walk.step("every page")
    print("\n".join(f"{name}: {result}" for name, result in walk.results))
