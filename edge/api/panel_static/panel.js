// The room panel (edge node, `/`): pick a room, control it with big buttons, see its live status.
//
// Everything goes to this node only: REST for the room list and the drivers' functions, the
// control WebSocket for status (bind) and commands (exec). The cloud link's state comes from
// /edge/cloud: with the WAN down the panel says so and keeps working from the node's replica.

import { badge, field, fill, h, show } from "/ui/dom.js";
import { ApiError, api, clearErrors, onUnauthorized, setCredential, showErrors } from "/ui/http.js";
import { ControlSocket } from "/ui/control.js";
import { functionForm, functionSchemas } from "/ui/schema_form.js";

const CREDENTIAL_KEY = "transom.panel.credential";
const ROOM_KEY = "transom.panel.room";
const CLOUD_POLL_MS = 3000;
// Functions with controls of their own; `query_*` and `poll` are the driver's housekeeping.
const OWN_CONTROLS = new Set(["power", "switch_to", "select_source", "volume", "volume_up", "volume_down", "mute", "unmute"]);

const main = document.getElementById("main");
const banner = document.getElementById("banner");
const linkBadge = document.getElementById("link");
const roomTitle = document.getElementById("room-title");
const roomsButton = document.getElementById("rooms-button");
const logoutButton = document.getElementById("logout");

let credential = null;
let socket = null;
let unbinders = [];
let socketUp = true;
let cloud = null; // the node's /edge/cloud answer; null until the first one

// PlaceOS's fixed-device convention: the page is opened as `/?x-api-key=KEY` (or `#x-api-key=`);
// the key is kept in this browser and taken out of the address bar.
function credentialFromAddress() {
  const params = new URLSearchParams(location.search || location.hash.slice(1));
  const key = params.get("x-api-key");
  if (!key) return null;
  history.replaceState(null, "", location.pathname);
  return { kind: "api_key", value: key };
}

function loadCredential() {
  const given = credentialFromAddress();
  if (given) { localStorage.setItem(CREDENTIAL_KEY, JSON.stringify(given)); return given; }
  try { return JSON.parse(localStorage.getItem(CREDENTIAL_KEY) || "null"); } catch { return null; }
}

function socketQuery() {
  if (!credential) return "";
  return credential.kind === "api_key"
    ? `api-key=${encodeURIComponent(credential.value)}&fixed_device=true`
    : `bearer_token=${encodeURIComponent(credential.value)}`;
}

function renderBanner() {
  const notes = [];
  if (!socketUp) notes.push(h("div", { class: "banner bad" }, "Reconnecting to this room's controller…"));
  if (cloud && cloud.synced && !cloud.connected) {
    const since = cloud.since ? ` since ${new Date(cloud.since * 1000).toLocaleTimeString()}` : "";
    const waiting = cloud.backlog ? ` ${cloud.backlog} change${cloud.backlog === 1 ? " waits" : "s wait"} to sync.` : "";
    notes.push(h("div", { class: "banner warn", id: "offline" },
      `Cloud unreachable${since}. This panel keeps controlling the room from this node.${waiting}`));
  }
  fill(banner, notes);
  if (!cloud) fill(linkBadge);
  else if (cloud.unreachable) fill(linkBadge, badge("Node unreachable", "bad"));
  else if (!cloud.synced) fill(linkBadge, badge("Standalone node", "warn"));
  else fill(linkBadge, cloud.connected ? badge("Cloud connected", "ok") : badge("Cloud offline", "warn"));
}

async function checkCloud() {
  if (!credential) return;
  try {
    cloud = await api("/edge/cloud");
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) cloud = { ...cloud, unreachable: true };
  }
  renderBanner();
}

async function pollCloud() {
  await checkCloud();
  setTimeout(pollCloud, CLOUD_POLL_MS);
}

function signOut() {
  localStorage.removeItem(CREDENTIAL_KEY);
  credential = null;
  setCredential(null);
  socket?.close();
  socket = null;
  showLogin("Signed out.");
}

function showLogin(note = "") {
  roomsButton.hidden = true;
  logoutButton.hidden = true;
  roomTitle.textContent = "";
  const kind = h("select", { name: "kind" },
    h("option", { value: "api_key" }, "Device API key"),
    h("option", { value: "bearer" }, "Access token from the cloud"));
  const secret = h("input", { name: "credential", type: "password", autocomplete: "off", required: true });
  const form = h("form", { class: "card stack", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Sign in to this room panel"),
    note ? h("p", { class: "muted" }, note) : null,
    field("Sign in with", kind),
    field("Key or token", secret),
    h("button", { type: "submit", class: "primary big" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const trial = { kind: kind.value, value: secret.value.trim() };
    setCredential(trial);
    try {
      await api("/systems?limit=1");
    } catch (err) {
      setCredential(credential);
      showErrors(form, err.status === 401 ? { ...err, fields: [{ field: "credential", message: err.message }] } : err);
      return;
    }
    localStorage.setItem(CREDENTIAL_KEY, JSON.stringify(trial));
    start(trial);
  });
  fill(main, form);
  secret.focus();
}

function start(given) {
  credential = given;
  setCredential(given);
  logoutButton.hidden = false;
  socket?.close();
  socket = new ControlSocket(socketQuery);
  socket.onstate((up) => { socketUp = up; renderBanner(); });
  checkCloud();
  const room = localStorage.getItem(ROOM_KEY);
  if (room) showRoom(room); else showRooms();
}

function dropBindings() {
  unbinders.forEach((stop) => stop());
  unbinders = [];
}

async function showRooms() {
  dropBindings();
  localStorage.removeItem(ROOM_KEY);
  roomsButton.hidden = true;
  roomTitle.textContent = "";
  let systems;
  try {
    systems = await api("/systems?limit=500");
  } catch (err) {
    fill(main, h("p", { class: "form-error", role: "alert" }, err.message));
    return;
  }
  fill(main,
    h("h1", {}, "Choose a room"),
    systems.length
      ? h("div", { class: "rooms" }, systems.map((s) =>
        h("button", { type: "button", onclick: () => showRoom(s.id), dataset: { room: s.id } },
          s.display_name || s.name, h("br"), h("span", { class: "muted small" }, s.description || ""))))
      : h("p", { class: "muted" }, "This node runs no rooms yet."));
}

// Modules of a system with PlaceOS addresses: the n-th module of a name is Name_n.
function addressed(system, drivers) {
  const counts = {};
  return (system.module_data || []).map((module) => {
    const name = module.custom_name || module.name;
    counts[name] = (counts[name] || 0) + 1;
    return { module, name, index: counts[name], driver: drivers[module.driver_id] };
  });
}

function isOn(value) {
  return value === true || (typeof value === "string" && ["on", "true", "warming"].includes(value.toLowerCase()));
}

async function showRoom(sysId) {
  dropBindings();
  let system, drivers;
  try {
    [system, drivers] = await Promise.all([api(`/systems/${encodeURIComponent(sysId)}`), api("/drivers?limit=1000")]);
  } catch (err) {
    if (err.status === 404) { showRooms(); return; }
    fill(main, h("p", { class: "form-error", role: "alert" }, err.message));
    return;
  }
  localStorage.setItem(ROOM_KEY, sysId);
  roomsButton.hidden = false;
  roomTitle.textContent = system.display_name || system.name;
  const byId = Object.fromEntries(drivers.map((d) => [d.id, d]));
  const cards = addressed(system, byId).map((entry) => deviceCard(sysId, entry));
  fill(main, h("h1", {}, system.display_name || system.name),
    cards.length ? h("div", { class: "grid" }, cards) : h("p", { class: "muted" }, "This room has no devices."));
  main.focus();
}

function deviceCard(sysId, { module, name, index, driver }) {
  const schemas = functionSchemas(driver);
  const slug = `${name}_${index}`;
  const title = `${name} ${index}`;
  const outcome = h("p", { class: "result", role: "status", "aria-live": "polite" });
  const bind = (key, fn) => unbinders.push(socket.bind(sysId, name, index, key, fn));
  const run = async (method, args, what) => {
    outcome.className = "result";
    outcome.textContent = `${what}…`;
    try {
      await socket.exec(sysId, name, index, method, args);
      outcome.className = "result ok";
      outcome.textContent = `${what}: done`;
    } catch (err) {
      outcome.className = "result bad";
      outcome.textContent = `${what} failed: ${err.message}`;
    }
  };

  const connection = h("span", {}, badge("…", "warn"));
  bind("connected", (value) => fill(connection, value === false ? badge("Not connected", "bad") : badge("Connected", "ok")));
  const parts = [h("div", { class: "row" }, h("h2", { class: "grow flush" }, title), connection)];

  if (schemas.power) {
    const readout = h("span", { class: "muted" }, "Power: …");
    const on = h("button", { type: "button", class: "big", "aria-pressed": "false", onclick: () => run("power", [true], `${title} on`) }, "On");
    const off = h("button", { type: "button", class: "big", "aria-pressed": "false", onclick: () => run("power", [false], `${title} off`) }, "Off");
    bind("power", (value) => {
      readout.textContent = `Power: ${show(value)}`;
      on.setAttribute("aria-pressed", String(isOn(value)));
      off.setAttribute("aria-pressed", String(value !== undefined && !isOn(value)));
    });
    parts.push(h("div", { class: "row", role: "group", "aria-label": `${title} power` }, on, off, readout));
  }

  const switcher = schemas.select_source ? "select_source" : schemas.switch_to ? "switch_to" : null;
  if (switcher) {
    const [arg, schema] = Object.entries(schemas[switcher])[0] || ["input", {}];
    const current = h("span", { class: "muted" }, "Input: …");
    bind(switcher === "select_source" ? "source" : "input", (value) => { current.textContent = `Input: ${show(value)}`; });
    if (Array.isArray(schema.enum)) {
      parts.push(h("div", { class: "row", role: "group", "aria-label": `${title} input` },
        schema.enum.map((choice) => h("button", { type: "button", class: "big", onclick: () => run(switcher, [choice], `${title} input ${show(choice)}`) }, show(choice))), current));
    } else {
      const choice = h("input", { name: arg, placeholder: "e.g. hdmi1" });
      const form = h("form", { class: "inline" }, field("Input", choice),
        h("button", { type: "submit", class: "big" }, "Switch"), current);
      form.addEventListener("submit", (event) => { event.preventDefault(); run(switcher, [choice.value], `${title} input ${choice.value}`); });
      parts.push(form);
    }
  }

  if (schemas.volume) {
    const level = h("input", { type: "range", min: "0", max: "100", step: "1", value: "50" });
    const readout = h("span", { class: "readout", "aria-hidden": "true" }, "–");
    level.addEventListener("change", () => run("volume", [Number(level.value)], `${title} volume ${level.value}`));
    bind("volume", (value) => {
      if (typeof value === "number") { level.value = String(value); readout.textContent = String(Math.round(value)); }
    });
    const row = [field("Volume", level), readout];
    if (schemas.volume_down) row.push(h("button", { type: "button", class: "big", "aria-label": `${title} volume down`, onclick: () => run("volume_down", [], `${title} volume down`) }, "−"));
    if (schemas.volume_up) row.push(h("button", { type: "button", class: "big", "aria-label": `${title} volume up`, onclick: () => run("volume_up", [], `${title} volume up`) }, "+"));
    parts.push(h("div", { class: "row" }, row));
  }

  if (schemas.mute) {
    const mute = h("button", { type: "button", class: "big", "aria-pressed": "false" }, "Mute");
    mute.addEventListener("click", () => {
      const muted = mute.getAttribute("aria-pressed") === "true";
      if (muted && schemas.unmute) run("unmute", [], `${title} unmute`); else run("mute", [!muted], `${title} mute`);
    });
    bind("mute", (value) => mute.setAttribute("aria-pressed", String(value === true)));
    parts.push(mute);
  }

  const others = Object.entries(schemas).filter(([fn]) => !OWN_CONTROLS.has(fn) && fn !== "poll" && !fn.startsWith("query_"));
  if (others.length) {
    parts.push(h("details", {}, h("summary", {}, `More functions of ${title}`),
      others.map(([fn, args]) => functionForm(fn, args, (values) => socket.exec(sysId, name, index, fn, values)))));
  }
  parts.push(outcome);
  return h("section", { class: "card device", "aria-label": title, dataset: { module: slug } }, parts);
}

roomsButton.addEventListener("click", showRooms);
logoutButton.addEventListener("click", signOut);
onUnauthorized(() => { if (credential) { signOut(); showLogin("The key or token was refused; sign in again."); } });

const saved = loadCredential();
if (saved) start(saved); else showLogin();
pollCloud();
