// The control WebSocket (/api/engine/v2/systems/control), as PlaceOS's front ends speak it.
//
//   const socket = new ControlSocket(() => "api-key=" + key);   // query credential, re-read on each dial
//   const stop = socket.bind(sys, "Display", 1, "power", (value) => ...);   // notify values, raw JSON
//   await socket.exec(sys, "Display", 1, "power", [true]);                  // the function's result
//   const end = socket.debug(moduleId, (frame) => ...);                     // {level, msg}
//   socket.onstate((up) => ...);                                             // connected or not
//
// It reconnects with a growing delay (up to 5 s) and binds everything again, like ts-client;
// it sends the text `ping` every 15 s (the server answers `pong`). Module addresses are
// PlaceOS's `Name_N`: `mod` is the name and `index` the number (1 by default).

const KEEP_ALIVE_MS = 15000;
const EXEC_TIMEOUT_MS = 15000;

export function splitSlug(slug) {
  const match = /^(.*)_(\d+)$/.exec(slug);
  return match ? [match[1], Number(match[2])] : [slug, 1];
}

export class ControlError extends Error {
  constructor(frame) {
    super(frame.msg || `error ${frame.error_code ?? frame.code}`);
    this.code = frame.error_code ?? frame.code;
  }
}

export class ControlSocket {
  constructor(query, { path = "/api/engine/v2/systems/control" } = {}) {
    this.query = query;
    this.path = path;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.binds = new Map(); // "sys|mod_index|name" -> {request, callbacks:Set}
    this.debugs = new Map(); // module id -> Set(callback)
    this.states = new Set();
    this.up = false;
    this.attempt = 0;
    this.closed = false;
    this.dial();
  }

  dial() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}?${this.query()}`);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setUp(true);
      ws.send("ping");
      for (const entry of this.binds.values()) this.send({ ...entry.request, cmd: "bind" }).catch(() => {});
      for (const id of this.debugs.keys()) this.send({ cmd: "debug", mod: id, sys: "", name: "debug" }).catch(() => {});
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = () => {
      this.setUp(false);
      for (const [id, call] of this.pending) {
        clearTimeout(call.timer);
        call.reject(new ControlError({ msg: "the connection closed", code: 3 }));
        this.pending.delete(id);
      }
      if (this.closed) return;
      this.attempt += 1;
      setTimeout(() => this.dial(), Math.min(5000, this.attempt * 300));
    };
    clearInterval(this.keepAlive);
    this.keepAlive = setInterval(() => { if (ws.readyState === 1) ws.send("ping"); }, KEEP_ALIVE_MS);
  }

  close() {
    this.closed = true;
    clearInterval(this.keepAlive);
    this.ws?.close();
  }

  setUp(up) {
    if (this.up === up) return;
    this.up = up;
    this.states.forEach((fn) => fn(up));
  }

  onstate(fn) { this.states.add(fn); fn(this.up); return () => this.states.delete(fn); }

  receive(data) {
    if (data === "pong") return;
    let frame;
    try { frame = JSON.parse(data); } catch { return; }
    if (frame.type === "notify" && frame.meta) {
      const { sys, mod, index, name } = frame.meta;
      this.binds.get(`${sys}|${mod}_${index}|${name}`)?.callbacks.forEach((fn) => fn(frame.value));
      return;
    }
    if (frame.type === "debug") {
      const id = frame.mod || frame.meta?.mod;
      (this.debugs.get(id) || []).forEach((fn) => fn(frame));
      return;
    }
    const call = this.pending.get(frame.id);
    if (!call) return;
    this.pending.delete(frame.id);
    clearTimeout(call.timer);
    if (frame.type === "error") call.reject(new ControlError(frame));
    else call.resolve(frame.value);
  }

  send(request, timeout = EXEC_TIMEOUT_MS) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== 1) {
        reject(new ControlError({ msg: "not connected", code: 3 }));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ControlError({ msg: "no answer in time", code: 3 }));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ id, ...request }));
    });
  }

  // Follow a status value: `callback(value)` with the current value and every change.
  bind(sys, mod, index, name, callback) {
    const key = `${sys}|${mod}_${index}|${name}`;
    let entry = this.binds.get(key);
    if (!entry) {
      entry = { request: { sys, mod, index, name }, callbacks: new Set() };
      this.binds.set(key, entry);
      this.send({ cmd: "bind", ...entry.request }).catch(() => {}); // re-sent on every reconnect
    }
    entry.callbacks.add(callback);
    return () => {
      entry.callbacks.delete(callback);
      if (entry.callbacks.size === 0) {
        this.binds.delete(key);
        this.send({ cmd: "unbind", sys, mod, index, name }).catch(() => {});
      }
    };
  }

  // Run a function; resolves with its result, rejects with a ControlError.
  exec(sys, mod, index, name, args = []) {
    return this.send({ cmd: "exec", sys, mod, index, name, args });
  }

  // Follow a module's log: `callback({level, msg})` per line.
  debug(moduleId, callback) {
    let set = this.debugs.get(moduleId);
    if (!set) {
      set = new Set();
      this.debugs.set(moduleId, set);
      this.send({ cmd: "debug", sys: "", mod: moduleId, name: "debug" }).catch(() => {});
    }
    set.add(callback);
    return () => {
      set.delete(callback);
      if (set.size === 0) {
        this.debugs.delete(moduleId);
        this.send({ cmd: "ignore", sys: "", mod: moduleId, name: "ignore" }).catch(() => {});
      }
    };
  }
}
