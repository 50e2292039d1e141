// The console's pages beyond plain lists: sites and edges (live sync health), the zone tree,
// a system (live status by WebSocket bind, a form per function, its triggers), a module
// (start/stop, state, live debug log), a driver's metadata, and search across resources.
// Trigger pages live in triggers.js.

import { badge, fill, h, show } from "/ui/dom.js";
import { api, decodeState } from "/ui/http.js";
import { functionForm, functionSchemas } from "/ui/schema_form.js";
import { link, listTable, resourceForm, resourcePage, secretOnce, text } from "./crud.js";
import * as resources from "./resources.js";

const EDGE_REFRESH_MS = 2000;
const STATE_REFRESH_MS = 3000;

const ago = (seconds) => (seconds === null || seconds === undefined ? "never" : seconds < 1 ? "just now" : `${Math.round(seconds)} s ago`);
// Backlog and lag reach the cloud only over the link: with the link down they are what the
// site last said, so they are shown "as of" when it was last heard, never as current.
const clock = (unix) => new Date(unix * 1000).toLocaleTimeString();
function heard(health, online, { flag = true } = {}) {
  if (health.silent_for === null || health.silent_for === undefined) return "never";
  if (online) return ago(health.silent_for);
  return h("span", {}, flag ? [badge("cut off", "bad"), " "] : null, ago(health.silent_for), health.last_seen ? ` (at ${clock(health.last_seen)})` : "");
}
function asOf(value, health, online) {
  if (online || !health.last_seen) return value;
  return h("span", { class: "stale" }, value, " ", h("span", { class: "muted small" }, `as of ${clock(health.last_seen)}`));
}
const dropped = (counts) => {
  const entries = Object.entries(counts || {}).map(([k, v]) => `${k}: ${typeof v === "object" ? v.count ?? 0 : v}`);
  return entries.length ? entries.join(", ") : "none";
};

// Sites and edges first: each edge, its nodes and sync health, refreshed every two seconds.
export async function edgesPage(main, ctx) {
  const notes = h("div", { "aria-live": "polite" });
  const body = h("div", { class: "stack" });
  const forms = h("div");
  const create = async () => fill(forms, await resourceForm(resources.edges, null, (answer) => {
    fill(notes, answer.x_api_key ? secretOnce("The new edge's key", answer.x_api_key) : null);
    refresh();
  }));
  fill(main,
    h("div", { class: "row" }, h("h1", { class: "grow" }, "Sites & edges"),
      h("button", { type: "button", class: "primary", onclick: create }, "New edge")),
    h("p", { class: "muted" }, "Each edge is a site's cluster of nodes; health is what its nodes last reported over the link."),
    notes, forms, body);

  const issue = async (edge, kind) => {
    try {
      const answer = kind === "enrol"
        ? await api("/enrolment_tokens", { method: "POST", body: { site: edge.id } })
        : await api(`/edges/${edge.id}/token`, { method: "POST" });
      fill(notes, secretOnce(kind === "enrol" ? `Enrolment token for ${edge.name}` : `New key for ${edge.name}`, answer.token || answer.x_api_key));
    } catch (err) {
      fill(notes, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  };

  async function refresh() {
    let edges, modules;
    try {
      [edges, modules] = await Promise.all([api("/edges?limit=500"), api("/modules?limit=1000")]);
    } catch (err) {
      fill(body, h("p", { class: "form-error", role: "alert" }, err.message));
      return;
    }
    if (!edges.length) { fill(body, h("p", { class: "muted" }, "No edges yet: make one, then run `transom edge run --cloud URL --edge-key KEY` on the site.")); return; }
    fill(body, edges.map((edge) => edgeCard(edge, modules.filter((m) => m.edge_id === edge.id), issue)));
  }
  await refresh();
  ctx.every(EDGE_REFRESH_MS, refresh);
}

// The modules a node runs (the node that last reported each one's status), linked.
function nodeModules(node, modules) {
  const mine = modules.filter((m) => (node.modules || []).includes(m.id));
  if (!mine.length) return "—";
  return h("ul", { class: "flush" }, mine.map((m) => h("li", {}, link(`#/modules/${m.id}`, m.custom_name || m.name || m.id))));
}

function edgeCard(edge, modules, issue) {
  const sync = edge.sync || {};
  const online = Boolean(sync.online ?? edge.online);
  const nodes = sync.nodes || [];
  return h("section", { class: "card stack", "aria-label": `Edge ${edge.name}`, dataset: { edge: edge.id } },
    h("div", { class: "row" }, h("h2", { class: "grow flush" }, edge.name),
      h("span", { dataset: { field: "link" } }, edge.online ? badge("online", "ok") : badge("offline", "bad")),
      h("button", { type: "button", onclick: () => issue(edge, "enrol") }, "Enrolment token"),
      h("button", { type: "button", onclick: () => issue(edge, "key") }, "New edge key")),
    h("dl", { class: "kv" },
      h("dt", {}, "Last heard"), h("dd", { dataset: { field: "last-heard" } }, heard(sync, online)),
      h("dt", {}, "Backlog"), h("dd", { dataset: { field: "backlog" } }, asOf(String(sync.backlog ?? 0), sync, online)),
      h("dt", {}, "Lag"), h("dd", { dataset: { field: "lag" } }, asOf(`${Number(sync.lag || 0).toFixed(1)} s`, sync, online)),
      h("dt", {}, "Last acknowledged"), h("dd", {}, String(sync.last_acked_seq ?? 0)),
      h("dt", {}, "Dropped"), h("dd", {}, asOf(dropped(sync.dropped), sync, online)),
      h("dt", {}, "Modules"), h("dd", {}, `${modules.length} (${modules.filter((m) => m.connected).length} connected)`)),
    nodes.length
      ? h("table", {}, h("caption", { class: "visually-hidden" }, `Nodes of ${edge.name}`),
        h("thead", {}, h("tr", {}, ["Node", "Link", "Fenced", "Version", "Modules it runs", "Last heard", "Backlog", "Lag", "Last acked", "Dropped"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, nodes.map((n) => h("tr", { dataset: { node: n.node_id } },
          h("td", {}, h("code", {}, n.node_id)),
          h("td", {}, n.online ? badge("online", "ok") : badge("offline", "bad")),
          h("td", { dataset: { field: "fenced" } }, n.fenced === true ? badge("fenced", "bad") : n.fenced === false ? "no" : "—"),
          h("td", {}, text(n.version)),
          h("td", {}, nodeModules(n, modules)),
          h("td", {}, heard(n, n.online && online, { flag: false })),
          h("td", {}, asOf(String(n.backlog ?? 0), n, n.online && online)),
          h("td", {}, asOf(`${Number(n.lag || 0).toFixed(1)} s`, n, n.online && online)),
          h("td", {}, String(n.last_acked_seq ?? 0)),
          h("td", {}, asOf(dropped(n.dropped), n, n.online && online))))))
      : h("p", { class: "muted" }, "No node has connected yet."),
    modules.length
      ? h("details", {}, h("summary", {}, `Modules of ${edge.name}`),
        h("ul", {}, modules.map((m) => h("li", {}, link(`#/modules/${m.id}`, resources.moduleLabel(m)), " ",
          m.connected ? badge("connected", "ok") : badge("not connected", "bad")))))
      : null);
}

// Zones as a tree (parent_id), above the list with its forms; redrawn whenever the list is.
export async function zonesPage(main) {
  const tree = h("nav", { class: "card tree", "aria-label": "Zone tree" });
  const draw = (zones) => {
    const children = {};
    for (const zone of zones) (children[zone.parent_id || ""] ||= []).push(zone);
    const branch = (parent) => (children[parent] || []).length
      ? h("ul", {}, children[parent].map((z) => h("li", {}, h("strong", {}, z.name), " ",
        (z.tags || []).map((t) => h("span", { class: "badge ok" }, t)), branch(z.id))))
      : null;
    fill(tree, h("h2", {}, "Tree"), branch("") || h("p", { class: "muted" }, "No zones yet."));
  };
  await resourcePage(main, { ...resources.zones, extra: async () => tree, afterReload: draw });
}

// Modules of a system with their PlaceOS addresses (the n-th module of a name is Name_n).
export function addressed(system, modules) {
  const counts = {};
  return (system.modules || []).filter((id) => modules[id]).map((id) => {
    const module = modules[id];
    const name = module.custom_name || module.name;
    counts[name] = (counts[name] || 0) + 1;
    return { module, name, index: counts[name] };
  });
}

// A system: every module's live status (WebSocket bind) and a form per function (REST exec).
export async function systemPage(main, ctx, sysId) {
  const { system, modules, drivers } = await loadSystem(sysId);
  const cards = addressed(system, modules).map((entry) => moduleCard(ctx, sysId, entry, drivers[entry.module.driver_id]));
  // The trigger pages' script is fetched only by pages that use it (first paint stays light).
  const { systemTriggers } = await import("./triggers.js");
  fill(main,
    h("h1", {}, system.display_name || system.name),
    h("p", { class: "muted" }, system.description || "", " ", h("code", {}, system.id)),
    h("div", { class: "stack" },
      cards.length ? cards : h("p", { class: "muted" }, "This system has no modules: add one on the Modules page."),
      await systemTriggers(system)));
}

// A system with its modules and their drivers, by id (a module or driver gone since is left out).
export async function loadSystem(sysId) {
  const system = await api(`/systems/${encodeURIComponent(sysId)}`);
  const found = await Promise.all((system.modules || []).map((id) => api(`/modules/${encodeURIComponent(id)}`).catch(() => null)));
  const modules = Object.fromEntries(found.filter(Boolean).map((m) => [m.id, m]));
  const driverIds = [...new Set(Object.values(modules).map((m) => m.driver_id))];
  const drivers = Object.fromEntries((await Promise.all(driverIds.map((id) => api(`/drivers/${encodeURIComponent(id)}`).catch(() => null)))).filter(Boolean).map((d) => [d.id, d]));
  return { system, modules, drivers };
}

function moduleCard(ctx, sysId, { module, name, index }, driver) {
  const slug = `${name}_${index}`;
  const rows = h("tbody");
  const cells = {};
  const bindKey = (key) => {
    if (cells[key]) return;
    cells[key] = h("td", { class: "mono", dataset: { key } }, "…");
    rows.append(h("tr", {}, h("th", { scope: "row" }, key), cells[key]));
    ctx.bind(sysId, name, index, key, (value) => { cells[key].textContent = show(value); });
  };
  const learnKeys = async () => {
    try {
      const state = await api(`/systems/${encodeURIComponent(sysId)}/${slug}`);
      Object.keys(state || {}).sort().forEach(bindKey);
    } catch { /* the module may not be running yet: the bindings below still follow it */ }
  };
  ["connected", "power"].forEach(bindKey);
  learnKeys();
  const schemas = functionSchemas(driver);
  const descriptions = (driver?.functions?.descriptions) || {};
  const form = ([fn, args]) => functionForm(fn, args, async (values) => {
    const answer = await api(`/systems/${encodeURIComponent(sysId)}/${slug}/${encodeURIComponent(fn)}`, { method: "POST", body: values });
    learnKeys();
    return answer;
  }, { description: descriptions[fn] || "" });
  // Reads (query_*, poll) are the driver's housekeeping: listed apart, folded.
  const isRead = ([fn]) => fn === "poll" || fn.startsWith("query_");
  const entries = Object.entries(schemas);
  const forms = entries.filter((e) => !isRead(e)).map(form);
  const reads = entries.filter(isRead).map(form);
  return h("section", { class: "card stack", "aria-label": slug, dataset: { module: slug } },
    h("div", { class: "row" }, h("h2", { class: "grow flush" }, slug),
      link(`#/modules/${module.id}`, module.id)),
    h("table", {}, h("caption", {}, "Live status"), h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Value"))), rows),
    forms.length ? h("details", { open: true }, h("summary", {}, "Functions"), h("div", { class: "stack" }, forms)) : h("p", { class: "muted" }, "The driver lists no functions."),
    reads.length ? h("details", {}, h("summary", {}, "Queries and polling"), h("div", { class: "stack" }, reads)) : null);
}

// A module: start and stop, its state, and its live debug log.
export async function modulePage(main, ctx, moduleId) {
  const module = await api(`/modules/${encodeURIComponent(moduleId)}`);
  const outcome = h("p", { class: "result", role: "status", "aria-live": "polite" });
  const state = h("dl", { class: "kv" });
  const log = h("pre", { class: "log", role: "log", "aria-label": "Debug log", tabindex: "0" });
  const action = (verb) => async () => {
    outcome.className = "result";
    outcome.textContent = `${verb}…`;
    try {
      await api(`/modules/${encodeURIComponent(moduleId)}/${verb}`, { method: "POST" });
      outcome.className = "result ok";
      outcome.textContent = `${verb}: done`;
    } catch (err) {
      outcome.className = "result bad";
      outcome.textContent = `${verb} failed: ${err.message}`;
    }
  };
  const refresh = async () => {
    try {
      const values = await api(`/modules/${encodeURIComponent(moduleId)}/state`);
      const keys = Object.keys(values || {}).sort();
      fill(state, keys.length ? keys.map((k) => [h("dt", {}, k), h("dd", {}, show(decodeState(values[k])))]) : h("dd", { class: "muted" }, "No state yet."));
    } catch (err) {
      fill(state, h("dd", { class: "form-error" }, err.message));
    }
  };
  fill(main,
    h("h1", {}, module.custom_name || module.name || module.id),
    h("dl", { class: "kv" },
      h("dt", {}, "Id"), h("dd", {}, module.id),
      h("dt", {}, "Driver"), h("dd", {}, link(`#/drivers/${module.driver_id}`, module.driver_id)),
      h("dt", {}, "Device"), h("dd", {}, module.ip ? `${module.ip}:${module.port}` : text(module.uri)),
      h("dt", {}, "Edge"), h("dd", {}, text(module.edge_id))),
    h("div", { class: "row" },
      h("button", { type: "button", class: "primary", onclick: action("start") }, "Start"),
      h("button", { type: "button", onclick: action("stop") }, "Stop"), outcome),
    h("section", { class: "card", "aria-labelledby": "state-title" }, h("h2", { id: "state-title" }, "State"), state),
    h("section", { class: "card", "aria-labelledby": "log-title" }, h("h2", { id: "log-title" }, "Debug log (live)"), log));
  await refresh();
  ctx.every(STATE_REFRESH_MS, refresh);
  ctx.debug(moduleId, (frame) => {
    log.append(`${new Date().toLocaleTimeString()} ${frame.level || ""} ${frame.msg}\n`);
    if (log.childNodes.length > 500) log.firstChild.remove();
    log.scrollTop = log.scrollHeight;
  });
}

// A driver: its metadata (functions with their arguments, settings schema, defaults).
export async function driverPage(main, ctx, driverId) {
  const driver = await api(`/drivers/${encodeURIComponent(driverId)}`);
  const schemas = functionSchemas(driver);
  const descriptions = driver.functions?.descriptions || {};
  fill(main,
    h("h1", {}, driver.name),
    h("p", {}, driver.description || ""),
    h("dl", { class: "kv" },
      h("dt", {}, "Module name"), h("dd", {}, driver.module_name),
      h("dt", {}, "Class"), h("dd", {}, text(driver.file_name)),
      h("dt", {}, "Role"), h("dd", {}, text(driver.role)),
      h("dt", {}, "Default port"), h("dd", {}, text(driver.default_port))),
    h("section", { class: "card" }, h("h2", {}, "Functions"),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Function"), h("th", { scope: "col" }, "Arguments"), h("th", { scope: "col" }, "Description"))),
        h("tbody", {}, Object.entries(schemas).map(([fn, args]) => h("tr", {}, h("td", {}, h("code", {}, fn)),
          h("td", { class: "mono" }, Object.entries(args).map(([a, s]) => `${a}: ${s.type || "any"}${"default" in s ? ` = ${JSON.stringify(s.default)}` : ""}`).join(", ") || "—"),
          h("td", {}, descriptions[fn] || "")))))),
    h("section", { class: "card" }, h("h2", {}, "Default settings"), h("pre", {}, JSON.stringify(driver.default_settings || {}, null, 2))),
    h("section", { class: "card" }, h("h2", {}, "Settings schema"), h("pre", {}, JSON.stringify(driver.json_schema || {}, null, 2))));
}

// One box, every resource: the API's `q` search on each list.
export async function searchPage(main, ctx, q) {
  const specs = [resources.systems, resources.modules, resources.zones, resources.drivers, resources.users,
    { ...resources.edges, columns: [["Name", (e) => e.name], ["Id", (e) => h("code", {}, e.id)]] }];
  fill(main, h("h1", {}, `Search: ${q}`), h("p", { class: "muted" }, "Searching…"));
  const results = await Promise.all(specs.map((spec) => api(`/${spec.path}?q=${encodeURIComponent(q)}&limit=50`).then((items) => [spec, items], (err) => [spec, err])));
  const total = results.reduce((n, [, items]) => n + (Array.isArray(items) ? items.length : 0), 0);
  fill(main, h("h1", {}, `Search: ${q}`),
    h("p", { role: "status" }, `${total} found`),
    results.filter(([, items]) => !Array.isArray(items) || items.length).map(([spec, items]) =>
      h("section", { class: "stack", "aria-label": spec.title }, h("h2", {}, spec.title),
        Array.isArray(items) ? listTable({ ...spec, readOnly: true }, items) : h("p", { class: "form-error" }, items.message))));
}
