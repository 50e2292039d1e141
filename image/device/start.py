"""The node launcher (transom-edge.service): enrol if the ESP asks to, then run `transom edge run`.

    enrolled before          -> run synced with the cloud (edge key from the data partition)
    token in the ESP's file  -> enrol (retrying while the cloud is unreachable), then as above
    no token, or refused     -> run stand-alone on DATA/site.yaml, saying how to enrol

The node always uses the image's etcd and Redis, keeps its state in DATA/node, and serves
its local API on every address at port 8081. It replaces itself with the node process
(exec), so systemd supervises the node directly.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from image.device import enrolment
from image.device.status import write_state
from image.layout import DATA_MOUNT, ENROLMENT_FILE, ESP_MOUNT, VENV

LOCAL_API_PORT = 8081
SITE_FILE = Path(DATA_MOUNT) / "site.yaml"
# Seconds between enrolment attempts while the cloud cannot be reached (the WAN may be down for days).
RETRY_SECONDS = 10.0
HOW_TO_ENROL = (
    "This Transom node runs stand-alone (its local API is on port {port}). To enrol it with a cloud:\n"
    "  1. on the cloud: transom cloud enrol-token --site SITE --data-dir CLOUD_DATA\n"
    "  2. put the cloud URL and the token in {esp}/{file} (the FAT partition, readable on any PC)\n"
    "  3. reboot the node."
)


def say(message: str) -> None:
    """A message to the journal (stdout) and the console, where a person at the PC sees it."""
    print(message, flush=True)
    try:
        with open("/dev/console", "w") as console:
            console.write(message + "\n")
    except OSError:
        pass  # no console (a container): the journal has it


def node_command(node_id: str, record: dict[str, str] | None) -> tuple[list[str], dict[str, str]]:
    """The `transom edge run` command line, and its environment, for this node."""
    command = [
        f"{VENV}/bin/transom",
        "edge",
        "run",
        "--data-dir",
        f"{DATA_MOUNT}/node/state",
        "--node-id",
        node_id,
        "--listen",
        f"0.0.0.0:{LOCAL_API_PORT}",
        "--redis",
        "redis://127.0.0.1:6379/0",
        "--etcd",
        "http://127.0.0.1:2379",
        "--lease-ttl",
        "10",
    ]
    env = dict(os.environ)
    if record is not None:
        command += ["--site", record["edge_id"], "--cloud", record["cloud"]]
        env["TRANSOM_EDGE_KEY"] = record["edge_key"]  # not on the command line, where ps shows it
    else:
        if not SITE_FILE.exists():
            SITE_FILE.write_text("# The stand-alone site: drivers, systems, modules (see the README).\n{}\n")
        command += ["--config", str(SITE_FILE)]
    return command, env


def main() -> int:
    node_id = enrolment.node_id()
    (Path(DATA_MOUNT) / "node/state").mkdir(parents=True, exist_ok=True)
    record = enrolment.enrolled()
    if record is None:
        record = _try_enrol()
    if record is None:
        write_state(node_id=node_id, enrolment="not enrolled", site="stand-alone")
        say(HOW_TO_ENROL.format(port=LOCAL_API_PORT, esp=ESP_MOUNT, file=ENROLMENT_FILE))
    else:
        write_state(node_id=node_id, enrolment="enrolled", site=record["edge_name"], cloud=record["cloud"])
        say(f"node {node_id} enrolled in {record['edge_name']} ({record['edge_id']}) with {record['cloud']}")
    command, env = node_command(node_id, record)
    os.execve(command[0], command, env)


def _try_enrol() -> dict[str, str] | None:
    try:
        file = enrolment.read_file()
    except enrolment.EnrolmentFileInvalid as exc:
        say(f"enrolment: {exc}")
        return None
    if file is None:
        return None
    while True:
        try:
            record = enrolment.enrol(file)
        except (enrolment.EnrolmentRefused, enrolment.EnrolmentFileInvalid) as exc:
            say(f"enrolment refused: {exc}")
            write_state(enrolment=f"refused: {exc}")
            return None
        except enrolment.EnrolmentUnreachable as exc:
            say(f"enrolment: {exc}; retrying in {RETRY_SECONDS:g} s")
            write_state(enrolment="waiting for the cloud")
            time.sleep(RETRY_SECONDS)
            continue
        return record


if __name__ == "__main__":
    sys.exit(main())
