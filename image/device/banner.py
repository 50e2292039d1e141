"""The console banner (transom-banner.service): what a person at the site PC's screen needs to know.

Like Home Assistant OS's: the node's addresses and local API URL, node id, site, enrolment
and sync state, the running build and root slot. Written to /run/issue.d (agetty shows it
above the login prompt on every console) and printed to the console and journal whenever it
changes; refreshed every few seconds.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from image.device.slots import running_slot
from image.device.status import read_state
from image.layout import DATA_MOUNT

ISSUE = Path("/run/issue.d/50-transom.issue")
LOCAL_API = "http://127.0.0.1:8081/api/engine/v2/edge/health"
# Seconds between refreshes: quick enough to show an address from DHCP soon after boot.
REFRESH = 5.0


def addresses() -> list[str]:
    """The machine's IPv4 addresses other than loopback."""
    out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, check=False).stdout
    try:
        links = json.loads(out or "[]")
    except ValueError:
        return []
    return [
        info["local"]
        for link in links
        for info in link.get("addr_info", [])
        if info.get("local") and not info["local"].startswith("127.")
    ]


def local_api_answers() -> bool:
    """Whether the node's local API answers HTTP at all (it asks for credentials: that is an answer)."""
    try:
        with urllib.request.urlopen(LOCAL_API, timeout=3):  # loopback only
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def replica_state() -> str:
    """The synced configuration's revision and module count, from the node's replica (read-only)."""
    path = Path(DATA_MOUNT) / "node/state/replica.db"
    if not path.exists():
        return "no configuration from the cloud yet"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            row = conn.execute("SELECT value FROM meta WHERE name = 'revision'").fetchone()
            modules = conn.execute("SELECT COUNT(*) FROM documents WHERE tbl = 'modules'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return "replica unreadable"
    return f"configuration revision {row[0] if row else 0}, {modules} modules"


def build_info() -> dict[str, str]:
    try:
        found: dict[str, str] = json.loads(Path("/etc/transom-build.json").read_text())
        return found
    except (OSError, ValueError):
        return {}


def render() -> str:
    """The banner's text."""
    state = read_state()
    answering = local_api_answers()
    ips = addresses()
    build = build_info()
    api = "answering" if answering else "starting"
    sync = replica_state() if state.get("enrolment") == "enrolled" else "stand-alone (no cloud)"
    lines = [
        "",
        "  Transom edge node",
        f"  address     {', '.join(ips) or 'none yet (waiting for DHCP)'}",
        f"  local API   {', '.join(f'http://{ip}:8081/api/engine/v2' for ip in ips) or '-'}",
        f"  node id     {state.get('node_id', '-')}",
        f"  site        {state.get('site', '-')}",
        f"  enrolment   {state.get('enrolment', '-')}"
        + (f" ({state['cloud']})" if state.get("cloud") else ""),
        f"  sync        {sync}",
        f"  node        local API {api}",
        f"  system      build {build.get('build_id', '?')} (Transom {build.get('version', '?')}), "
        f"slot {running_slot() or '?'}",
        f"  hostname    {socket.gethostname()}",
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    shown = ""
    while True:
        text = render()
        if text != shown:
            ISSUE.parent.mkdir(parents=True, exist_ok=True)
            ISSUE.write_text(text.replace("\\", "\\\\"))
            subprocess.run(["agetty", "--reload"], capture_output=True, check=False)
            print("TRANSOM-BANNER" + text.rstrip("\n").replace("\n", "\n  | "), flush=True)
            shown = text
        time.sleep(REFRESH)


if __name__ == "__main__":
    sys.exit(main())
