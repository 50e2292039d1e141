"""The fan-out bench's WebSocket client, run as its own process so it does not share the node's CPU.

    python _fanout_client.py URL API_KEY SYS_ID MODULES KEYS PLAN_JSON

Binds every `k<i>` of every Emitter module, then for each (rate, seconds) of the plan asks
each emitter (over the same socket) to emit, and measures each notify's latency from the
driver's send time (`[sequence, time.monotonic()]`, one clock for all processes on Linux).
Prints one JSON line per level: {rate_target, delivered, seconds, p50_ms, p99_ms, emitted}.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

# Seconds to keep reading after the last emitter finished (values still in flight).
DRAIN = 0.5


class Client:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.ws = WSConnection(ConnectionType.CLIENT)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.sock.sendall(self.ws.send(Request(host=parts.netloc, target=target)))
        self._buffer = b""
        self._partial: list[bytes] = []
        while not self._accepted():
            pass

    def _accepted(self) -> bool:
        self.ws.receive_data(self.sock.recv(65536))
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                return True
            raise SystemExit(f"handshake refused: {event!r}")
        return False

    def send(self, frame: dict[str, Any]) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=orjson.dumps(frame).decode())))

    def receive(self, timeout: float) -> list[bytes]:
        """Whole messages received within `timeout` (server frames, parsed here: wsproto's
        parser costs more per frame than the node does, and this client must keep up)."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return []
        if not data:
            raise SystemExit("the node closed the connection")
        buf = self._buffer + data if self._buffer else data
        out = []
        pos, end = 0, len(buf)
        while end - pos >= 2:
            first, length = buf[pos], buf[pos + 1] & 0x7F
            header = 2
            if length == 126:
                if end - pos < 4:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if end - pos < 10:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if end - pos - header < length:
                break
            payload = buf[pos + header : pos + header + length]
            pos += header + length
            opcode = first & 0x0F
            if opcode == 8:
                raise SystemExit("the node closed the WebSocket")
            if opcode > 2:  # ping/pong: none expected
                continue
            if first & 0x80 and not self._partial:
                out.append(payload)
            else:
                self._partial.append(payload)
                if first & 0x80:
                    out.append(b"".join(self._partial))
                    self._partial = []
        self._buffer = buf[pos:]
        return out


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main() -> None:
    url, api_key, sys_id, modules, keys, plan_json = sys.argv[1:7]
    client = Client(f"{url}?api-key={api_key}")
    n_modules, n_keys = int(modules), int(keys)
    request_id = 0
    for module in range(1, n_modules + 1):
        for key in range(n_keys):
            request_id += 1
            client.send(
                {
                    "id": request_id,
                    "cmd": "bind",
                    "sys": sys_id,
                    "mod": "Emitter",
                    "index": module,
                    "name": f"k{key}",
                }
            )
    acked = 0
    while acked < request_id:
        for frame in client.receive(5.0):
            acked += b'"type":"success"' in frame
    for rate, seconds in orjson.loads(plan_json):
        per_module = rate / n_modules
        count = int((rate or 60_000) * seconds / n_modules)
        exec_ids = set()
        for module in range(1, n_modules + 1):
            request_id += 1
            exec_ids.add(request_id)
            args = [per_module, count, n_keys]
            client.send(
                {
                    "id": request_id,
                    "cmd": "exec",
                    "sys": sys_id,
                    "mod": "Emitter",
                    "index": module,
                    "name": "emit",
                    "args": args,
                }
            )
        latencies: list[float] = []
        first = last = 0.0
        finished_at: float | None = None
        while finished_at is None or time.monotonic() - finished_at < DRAIN:
            frames = client.receive(0.1)
            now = time.monotonic()
            for frame in frames:
                message = orjson.loads(frame)
                if message.get("type") == "notify":
                    value = message["value"]
                    latencies.append(now - value[1])
                    first = first or now
                    last = now
                elif message.get("id") in exec_ids:
                    exec_ids.discard(message["id"])
                    if message.get("type") == "error":
                        raise SystemExit(f"emit failed: {message}")
            if not exec_ids and finished_at is None:
                finished_at = time.monotonic()
        span = max(last - first, 1e-6)
        print(
            orjson.dumps(
                {
                    "rate_target": rate,
                    "emitted": count * n_modules,
                    "delivered": len(latencies),
                    "seconds": span,
                    "p50_ms": percentile(latencies, 0.50) * 1000,
                    "p99_ms": percentile(latencies, 0.99) * 1000,
                }
            ).decode(),
            flush=True,
        )
    os._exit(0)


if __name__ == "__main__":
    main()
