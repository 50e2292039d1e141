"""Boot assessment (transom-health.service): the boot is good once the node's local API answers.

Ordered before boot-complete.target: when it succeeds, systemd-bless-boot marks the boot
entry good; when it fails (the API never answered), FailureAction=reboot restarts the
machine, and after the entry's tries run out systemd-boot boots the previous generation.
"""

from __future__ import annotations

import sys
import time

from image.device.banner import local_api_answers

# Seconds the node gets to serve its local API once started (generous: a slow PC, many modules,
# or software emulation, where starting takes minutes).
DEADLINE = 900.0


def main() -> int:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if local_api_answers():
            print("healthy: the node answers on its local API", flush=True)
            return 0
        time.sleep(2)
    print(f"unhealthy: the local API did not answer within {DEADLINE:g} s", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
