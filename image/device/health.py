"""Boot assessment (transom-health.service): the boot is good once the node's local API answers.

Ordered before boot-complete.target: when it succeeds, systemd-bless-boot marks the boot
entry good; when it fails (the API never answered), FailureAction=reboot restarts the
machine, and after the entry's tries run out systemd-boot boots the previous generation.
"""

from __future__ import annotations

import sys
import time

from image.device.banner import node_health

# Seconds the node gets to serve its local API after boot (generous: a slow PC, many modules).
DEADLINE = 300.0


def main() -> int:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        health = node_health()
        if health is not None:
            print(f"healthy: node {health.get('node_id')} answers on its local API", flush=True)
            return 0
        time.sleep(2)
    print(f"unhealthy: the local API did not answer within {DEADLINE:g} s", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
