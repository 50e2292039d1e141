"""The fan-out bench's WebSocket client, run as its own process so it does not share the node's CPU.

    python -m tests.bench._fanout_client URL API_KEY SYS_ID MODULES KEYS PLAN_JSON

Binds every `k<i>` of every Emitter module, then for each (rate, seconds) of the plan asks
each emitter (over the same socket) to emit, and measures each notify's latency from the
driver's send time (`[sequence, time.monotonic()]`, one clock for all processes on Linux).

Every value is checked per key: level L's sequences start at L * 10**9, so key k's j-th value
of the level is sequence L * 10**9 + (j - 1) * KEYS + k, and a SequenceLedger classifies each
offered value as delivered, coalesced (a newer value of its key arrived), lost or out of order,
and checks each key's final value. The emitters report their own [count, start, end], so the
offered rate and the delivered rate are both over the emit window, measured at the emitters.
Prints one JSON line per level: {rate_target, offered, window, delivered, coalesced, lost,
out_of_order, duplicates, keys_final_wrong, errors, p50_ms, p99_ms, samples}.
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

from tests.bench._harness import SequenceLedger, percentile

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


LEVEL_BASE = 10**9


def main() -> None:
    url, api_key, sys_id, modules, keys, plan_json = sys.argv[1:7]
    client = Client(f"{url}?api-key={api_key}")
    n_modules, n_keys = int(modules), int(keys)
    request_id = 0
    # The modules run once an emit of nothing answers (the node starts them in the background).
    for module in range(1, n_modules + 1):
        while True:
            request_id += 1
            client.send(_exec(request_id, sys_id, module, [0, 0, n_keys, 0]))
            answer = _answer(client, request_id)
            if answer.get("type") == "success":
                break
            time.sleep(0.1)
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
    bind_errors = 0
    while acked + bind_errors < n_modules * n_keys:
        for frame in client.receive(5.0):
            acked += b'"type":"success"' in frame
            bind_errors += b'"type":"error"' in frame
    for level, (rate, seconds) in enumerate(orjson.loads(plan_json), start=1):
        first = level * LEVEL_BASE
        per_module = rate / n_modules
        count = int((rate or 60_000) * seconds / n_modules)
        exec_ids: dict[int, int] = {}
        sent_at = time.monotonic()
        answered_at = sent_at
        error_sample = ""
        for module in range(1, n_modules + 1):
            request_id += 1
            exec_ids[request_id] = module
            client.send(_exec(request_id, sys_id, module, [per_module, count, n_keys, first]))
        ledger = SequenceLedger()
        latencies: list[float] = []
        windows: list[list[float]] = []
        errors = bind_errors
        finished_at: float | None = None
        while finished_at is None or time.monotonic() - finished_at < DRAIN:
            frames = client.receive(0.1)
            now = time.monotonic()
            for frame in frames:
                message = orjson.loads(frame)
                kind = message.get("type")
                if kind == "notify":
                    value = message["value"]
                    if not isinstance(value, list) or value[0] < first:
                        continue  # the previous level's value, sent on bind or late
                    offset = value[0] - first
                    meta = message["meta"]
                    ledger.observe((meta["index"], meta["name"]), offset // n_keys + 1)
                    latencies.append(now - value[1])
                elif message.get("id") in exec_ids:
                    exec_ids.pop(message["id"])
                    answered_at = now
                    if kind == "error":
                        errors += 1
                        error_sample = error_sample or str(message)[:300]
                    else:
                        windows.append(message["value"])
                elif kind == "error":
                    errors += 1
            if not exec_ids and finished_at is None:
                finished_at = time.monotonic()
        final = {
            (module, f"k{k}"): (count - k + n_keys - 1) // n_keys
            for module in range(1, n_modules + 1)
            for k in range(min(n_keys, count))
        }
        summary = ledger.summary(final)
        # The emitters' own window; if every emit failed (the errors say so), the client's.
        window = (
            (max(w[2] for w in windows) - min(w[1] for w in windows)) if windows else answered_at - sent_at
        )
        print(
            orjson.dumps(
                {
                    "rate_target": rate,
                    "window": window,
                    **summary.as_json(),
                    "errors": errors,
                    "error_sample": error_sample,
                    "samples": len(latencies),
                    "p50_ms": percentile(latencies, 0.50) * 1000,
                    "p99_ms": percentile(latencies, 0.99) * 1000,
                }
            ).decode(),
            flush=True,
        )
    os._exit(0)


def _exec(request_id: int, sys_id: str, module: int, args: list[Any]) -> dict[str, Any]:
    return {
        "id": request_id,
        "cmd": "exec",
        "sys": sys_id,
        "mod": "Emitter",
        "index": module,
        "name": "emit",
        "args": args,
    }


def _answer(client: Client, request_id: int) -> dict[str, Any]:
    """Read until the answer to `request_id` (notifies before it are of no interest yet)."""
    while True:
        for frame in client.receive(5.0):
            message: dict[str, Any] = orjson.loads(frame)
            if message.get("id") == request_id and message.get("type") in ("success", "error"):
                return message


if __name__ == "__main__":
    main()
