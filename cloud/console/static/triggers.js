// Trigger pages: the list, a trigger's page (its editor, then the systems it runs on), and a
// system's triggers on its page. An instance's own page is trigger_instance.js, the editor
// trigger_editor.js. These scripts are fetched when a page first needs them, never with the
// console's first paint.

import { badge, field, fill, h } from "/ui/dom.js";
import { api, clearErrors, showErrors } from "/ui/http.js";
import { link, optionsOf, resourcePage } from "./crud.js";
import { OPERATORS, isStatus, triggerEditor } from "./trigger_editor.js";

const SYMBOLS = Object.fromEntries(OPERATORS);
const operandText = (o) => (isStatus(o) ? `${o.mod}.${o.status}${(o.keys || []).map((k) => `[${k}]`).join("")}` : JSON.stringify(o));
export const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "—");
export const times = (n) => `${n} ${n === 1 ? "time" : "times"}`;

// A trigger's conditions and actions in one line each, for lists.
export function conditionsText(t) {
  const c = t.conditions || {};
  const parts = [
    ...(c.comparisons || []).map((x) => `${operandText(x.left)} ${SYMBOLS[x.operator] || x.operator} ${operandText(x.right)}`),
    ...(c.time_dependents || []).map((x) => (x.type === "at" ? `at ${when(x.time)}` : `cron "${x.cron}" ${x.timezone || "UTC"}`)),
    t.enable_webhook ? "webhook" : null,
  ].filter(Boolean);
  return parts.length ? parts.join(t.any_match ? " or " : " and ") : "never (no conditions)";
}

export function actionsText(t) {
  const a = t.actions || {};
  const parts = [
    ...(a.functions || []).map((x) => `${x.mod}.${x.method}(${JSON.stringify(x.args ?? {})})`),
    ...(a.mailers || []).map((x) => `e-mail ${(x.emails || []).join(", ")}`),
    ...(a.webhooks || []).map((x) => `${x.method || "POST"} ${x.url}`),
  ];
  return parts.length ? parts.join("; ") : "none";
}

// #/triggers: every trigger, what it watches and does; New and Edit open the editor page.
export async function triggersPage(main) {
  const systems = Object.fromEntries((await optionsOf("/systems")).map((o) => [o.value, o.label]));
  await resourcePage(main, {
    path: "triggers", title: "Triggers", singular: "trigger",
    intro: "A trigger is an automation: when its conditions are met it runs its actions. It runs on the systems it is added to, evaluated at their site, even with the cloud unreachable.",
    editHref: (t) => (t ? `#/triggers/${t.id}` : "#/triggers/new"),
    columns: [
      ["Name", (t) => link(`#/triggers/${t.id}`, t.name)],
      ["When", (t) => h("span", { class: "mono" }, conditionsText(t))],
      ["Then", (t) => h("span", { class: "mono" }, actionsText(t))],
      ["Written for", (t) => (t.control_system_id ? link(`#/systems/${t.control_system_id}`, systems[t.control_system_id] || t.control_system_id) : "—")],
    ],
  });
}

// #/triggers/new and #/triggers/{id}: the editor, then the systems the trigger runs on.
export async function triggerPage(main, ctx, id, forSystem = "") {
  if (id === "new") {
    const editor = await triggerEditor({ control_system_id: forSystem || null }, (saved) => { location.hash = `#/triggers/${saved.id}`; });
    fill(main, h("h1", {}, "New trigger"), editor);
    editor.querySelector("input")?.focus();
    return;
  }
  const trigger = await api(`/triggers/${encodeURIComponent(id)}`);
  const heading = h("h1", {}, trigger.name);
  const editor = await triggerEditor(trigger, (saved) => { heading.textContent = saved.name; });
  fill(main, h("div", { class: "stack" }, heading, h("p", { class: "muted" }, h("code", {}, trigger.id)), editor, await instancesOf(trigger)));
}

// The trigger's instances, and a form to add it to another system.
async function instancesOf(trigger) {
  const systems = await optionsOf("/systems");
  const names = Object.fromEntries(systems.map((o) => [o.value, o.label]));
  const table = h("div");
  const reload = async () => {
    const instances = await api(`/triggers/${encodeURIComponent(trigger.id)}/instances`);
    fill(table, instances.length
      ? instanceTable(instances, ["System", (i) => link(`#/systems/${i.control_system_id}`, names[i.control_system_id] || i.control_system_id)], reload)
      : h("p", { class: "muted" }, "Not added to any system yet: it runs nowhere."));
  };
  const system = h("select", { name: "control_system_id", required: true }, h("option", { value: "" }, "(choose a system)"),
    systems.map((o) => h("option", { value: o.value, selected: o.value === trigger.control_system_id }, o.label)));
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: true });
  const exec = h("input", { type: "checkbox", name: "exec_enabled" });
  const form = h("form", { class: "inline", "aria-label": "Add to a system" },
    field("System", system), field("Enabled", enabled), field("Webhook may run functions", exec),
    h("button", { type: "submit", class: "primary" }, "Add to system"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await api("/trigger_instances", { method: "POST", body: { trigger_id: trigger.id, control_system_id: system.value, enabled: enabled.checked, exec_enabled: exec.checked } });
      await reload();
    } catch (err) {
      showErrors(form, err);
    }
  });
  await reload();
  return h("section", { class: "card stack", "aria-labelledby": "instances-title" },
    h("h2", { id: "instances-title" }, "Runs on"), table, form);
}

// Instances as a table; the first column is [label, cell(i)]: its system, or on a system's page its trigger.
function instanceTable(instances, [label, where], reload) {
  const remove = async (instance, row) => {
    if (!confirm("Remove this trigger from the system?")) return;
    try {
      await api(`/trigger_instances/${encodeURIComponent(instance.id)}`, { method: "DELETE" });
      await reload();
    } catch (err) {
      row.after(h("tr", {}, h("td", { colspan: 99, class: "form-error", role: "alert" }, err.message)));
    }
  };
  return h("table", {},
    h("thead", {}, h("tr", {}, [label, "State", "Fired", "Made by", "Instance"].map((c) => h("th", { scope: "col" }, c)),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    h("tbody", {}, instances.map((i) => {
      const row = h("tr", { dataset: { instance: i.id } },
        h("td", {}, where(i)),
        h("td", {}, i.enabled ? badge("enabled", "ok") : badge("disabled", "warn")),
        h("td", {}, times(i.trigger_count)),
        h("td", {}, i.zone_id ? h("span", {}, "zone ", h("code", {}, i.zone_id)) : "added directly"),
        h("td", {}, link(`#/trigger_instances/${i.id}`, i.id)));
      row.append(h("td", {}, i.zone_id ? null : h("button", { type: "button", class: "danger", onclick: () => remove(i, row), "aria-label": `Remove ${i.id}` }, "Remove")));
      return row;
    })));
}

// On a system's page: its trigger instances and a way to add or write one.
export async function systemTriggers(system) {
  const triggers = await optionsOf("/triggers");
  const names = Object.fromEntries(triggers.map((o) => [o.value, o.label]));
  const table = h("div");
  const reload = async () => {
    const instances = await api(`/systems/${encodeURIComponent(system.id)}/triggers`);
    fill(table, instances.length
      ? instanceTable(instances, ["Trigger", (i) => link(`#/triggers/${i.trigger_id}`, names[i.trigger_id] || i.trigger_id)], reload)
      : h("p", { class: "muted" }, "No triggers run here."));
  };
  const choice = h("select", { name: "trigger_id", required: true }, h("option", { value: "" }, "(choose a trigger)"),
    triggers.map((o) => h("option", { value: o.value }, o.label)));
  const form = h("form", { class: "inline", "aria-label": "Add a trigger" }, field("Trigger", choice),
    h("button", { type: "submit" }, "Add trigger"),
    link(`#/triggers/new?sys=${encodeURIComponent(system.id)}`, "Write a new trigger for this system"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await api("/trigger_instances", { method: "POST", body: { trigger_id: choice.value, control_system_id: system.id } });
      await reload();
    } catch (err) {
      showErrors(form, err);
    }
  });
  await reload();
  return h("section", { class: "card stack", "aria-labelledby": "system-triggers-title" },
    h("h2", { id: "system-triggers-title" }, "Triggers"), table, form);
}

