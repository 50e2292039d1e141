// What the console shows and edits of each API resource: its list columns and form fields.
// Field names are the API's, so its field errors land beside the right input.

import { badge, h } from "/ui/dom.js";
import { api } from "/ui/http.js";
import { link, optionsOf, text } from "./crud.js";

const ENCRYPTION_LEVELS = ["none", "support", "admin", "never_display"].map((v) => ({ value: v, label: v }));
const ROLES = ["user", "support", "admin"].map((v) => ({ value: v, label: v }));

export const zones = {
  path: "zones", title: "Zones", singular: "zone",
  columns: [["Name", (z) => z.name], ["Tags", (z) => (z.tags || []).join(", ") || "—"], ["Parent", (z) => text(z.parent_id)], ["Id", (z) => h("code", {}, z.id)]],
  fields: [
    { name: "name", label: "Name" },
    { name: "display_name", label: "Display name" },
    { name: "description", label: "Description" },
    { name: "parent_id", label: "Parent zone", type: "select", options: () => optionsOf("/zones") },
    { name: "tags", label: "Tags", type: "tags", hint: "comma separated, e.g. building, level" },
    { name: "timezone", label: "Time zone", hint: "e.g. Australia/Sydney" },
    { name: "triggers", label: "Triggers", type: "multi", options: () => optionsOf("/triggers"), hint: "each runs on every system in the zone" },
  ],
};

export const systems = {
  path: "systems", title: "Systems", singular: "system",
  intro: "A system is a room: an ordered list of modules, addressed as Name_N.",
  columns: [["Name", (s) => link(`#/systems/${s.id}`, s.name)], ["Modules", (s) => String((s.modules || []).length)], ["Zones", (s) => String((s.zones || []).length)], ["Id", (s) => h("code", {}, s.id)]],
  fields: [
    { name: "name", label: "Name" },
    { name: "display_name", label: "Display name" },
    { name: "description", label: "Description" },
    { name: "zones", label: "Zones", type: "multi", options: () => optionsOf("/zones"), hint: "in priority order, lowest first" },
    { name: "modules", label: "Modules", type: "multi", options: () => optionsOf("/modules", moduleLabel) },
    { name: "email", label: "E-mail" },
    { name: "capacity", label: "Capacity", type: "number" },
  ],
};

export function moduleLabel(m) {
  const where = m.ip ? ` ${m.ip}:${m.port}` : m.uri ? ` ${m.uri}` : "";
  return `${m.custom_name || m.name || "module"}${where} (${m.id})`;
}

export const modules = {
  path: "modules", title: "Modules", singular: "module",
  intro: "A module is a driver bound to one device, run by the edge it names.",
  columns: [
    ["Module", (m) => link(`#/modules/${m.id}`, m.custom_name || m.name || m.id)],
    ["Device", (m) => (m.ip ? `${m.ip}:${m.port}` : text(m.uri))],
    ["Edge", (m) => text(m.edge_id)],
    ["State", (m) => h("span", {}, m.running ? badge("running", "ok") : badge("stopped", "warn"), " ", m.connected ? badge("connected", "ok") : badge("not connected", "bad"))],
  ],
  fields: [
    { name: "driver_id", label: "Driver", type: "select", options: () => optionsOf("/drivers"), createOnly: true },
    { name: "custom_name", label: "Custom name", hint: "else the driver's module name" },
    { name: "ip", label: "IP address or host" },
    { name: "port", label: "Port", type: "number" },
    { name: "uri", label: "URI", hint: "for HTTP and WebSocket devices" },
    { name: "edge_id", label: "Edge", type: "select", options: () => optionsOf("/edges") },
    { name: "control_system_id", label: "System (logic modules)", type: "select", options: () => optionsOf("/systems") },
    { name: "_system", label: "Add to system", type: "select", local: true, createOnly: true, options: () => optionsOf("/systems") },
    { name: "notes", label: "Notes" },
    { name: "running", label: "Running", type: "bool", default: true },
  ],
  async afterSave(form, module) {
    const system = form.elements._system?.value;
    if (system) await api(`/systems/${encodeURIComponent(system)}/module/${encodeURIComponent(module.id)}`, { method: "PUT" });
  },
};

export const drivers = {
  path: "drivers", title: "Drivers", singular: "driver",
  columns: [["Name", (d) => link(`#/drivers/${d.id}`, d.name)], ["Module name", (d) => d.module_name], ["Class", (d) => h("code", {}, d.file_name || "—")], ["Role", (d) => text(d.role)]],
  fields: [
    { name: "name", label: "Name" },
    { name: "module_name", label: "Module name", hint: "what a system calls it, e.g. Display" },
    { name: "file_name", label: "Driver class", hint: "e.g. drivers.pjlink.projector:PJLinkProjector" },
    { name: "description", label: "Description" },
    { name: "default_port", label: "Default port", type: "number" },
    { name: "default_settings", label: "Default settings", type: "json" },
    { name: "functions", label: "Functions (metadata)", type: "json" },
  ],
};

export const settings = {
  path: "settings", title: "Settings", singular: "settings",
  intro: "Settings merge Driver < zones < System < Module. Text above `none` is encrypted at rest and hidden from roles below its level.",
  columns: [
    ["Parent", (s) => h("code", {}, s.parent_id)],
    ["Level", (s) => badge(s.encryption_level || "none", s.encryption_level && s.encryption_level !== "none" ? "warn" : "ok")],
    ["Settings", (s) => (s.redacted ? h("span", { class: "muted" }, "hidden at your role") : h("pre", {}, s.settings_string))],
  ],
  fields: [
    { name: "parent_id", label: "Parent (system, zone, module or driver id)", createOnly: true },
    { name: "encryption_level", label: "Encryption level", type: "select", options: async () => ENCRYPTION_LEVELS, none: "none" },
    { name: "settings_string", label: "Settings (JSON or YAML)", type: "text" },
  ],
};

export const users = {
  path: "users", title: "Users", singular: "user",
  columns: [["Name", (u) => u.name], ["E-mail", (u) => text(u.email)], ["Role", (u) => (u.sys_admin ? "admin" : u.support ? "support" : "user")], ["Id", (u) => h("code", {}, u.id)]],
  fields: [
    { name: "name", label: "Name" },
    { name: "email", label: "E-mail" },
    { name: "password", label: "Password", type: "password", hint: "8 characters or more; blank keeps it" },
    { name: "support", label: "Support", type: "bool" },
    { name: "sys_admin", label: "Administrator", type: "bool" },
  ],
};

export const apiKeys = {
  path: "api_keys", title: "API keys", singular: "API key",
  intro: "A key acts as its user, capped at its permissions; the secret is shown once, when it is made.",
  columns: [["Name", (k) => k.name], ["User", (k) => h("code", {}, k.user_id)], ["Permissions", (k) => text(k.permissions)], ["Scopes", (k) => (k.scopes || []).join(", ")]],
  fields: [
    { name: "name", label: "Name" },
    { name: "user_id", label: "User", type: "select", options: () => optionsOf("/users"), createOnly: true },
    { name: "permissions", label: "Permissions", type: "select", options: async () => ROLES, none: "(the user's role)" },
    { name: "scopes", label: "Scopes", type: "tags", default: ["public"], hint: "e.g. public, systems.read" },
    { name: "description", label: "Description" },
  ],
};

export const edges = {
  path: "edges", title: "Sites & edges", singular: "edge",
  fields: [
    { name: "name", label: "Name" },
    { name: "description", label: "Description" },
  ],
  columns: [],
};
