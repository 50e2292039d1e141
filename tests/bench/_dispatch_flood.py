"""The garbage flood of `transom bench dispatch`, as its own process: RATE datagrams/s for SECONDS.

    python -m tests.bench._dispatch_flood HOST PORT RATE SECONDS [SOURCES]

sends hostile datagrams (tests/edge/dispatch/traffic.py: random bytes, mutated traps,
valid headers with random bodies) round-robin from SOURCES loopback addresses (all 250 of
SOURCES by default; 1: one sender, which the per-source limit mostly drops), paced in
ticks of TICK seconds, and prints one JSON line: {"sent": n, "seconds": s}.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import time

from tests.edge.dispatch.traffic import garbage

# 250 senders, 127.0.1.1 to 127.0.1.250: at 10,000/s each sends 40/s, under the per-source
# limit, so every datagram is parsed (the costly case), none merely rate-limited.
SOURCES = [f"127.0.1.{n}" for n in range(1, 251)]
TICK = 0.01
VARIETY = 5000  # distinct datagrams, cycled


def flood(host: str, port: int, rate: float, seconds: float, sources: int) -> tuple[int, float]:
    rng = random.Random(22)
    datagrams = [garbage(rng) for _ in range(VARIETY)]
    senders = []
    for source in SOURCES[:sources]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((source, 0))
        senders.append(sock)
    sent = tried = 0
    started = time.monotonic()
    deadline = started + seconds
    tick = started
    while (now := time.monotonic()) < deadline:
        due = min(int((now - started) * rate), int(seconds * rate))
        while tried < due:
            try:
                senders[tried % len(senders)].sendto(datagrams[tried % VARIETY], (host, port))
                sent += 1
            except OSError:  # ENOBUFS and the like under load: not sent, not counted
                pass
            tried += 1
        tick += TICK
        time.sleep(max(0.0, tick - time.monotonic()))
    return sent, time.monotonic() - started


def main() -> None:
    host, port, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    sources = int(sys.argv[5]) if len(sys.argv) > 5 else len(SOURCES)
    sent, elapsed = flood(host, port, rate, seconds, sources)
    sys.stdout.write(json.dumps({"sent": sent, "seconds": elapsed}) + "\n")


if __name__ == "__main__":
    main()
