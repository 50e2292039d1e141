// Trigger pages: the list, the editor, a trigger's instances (one per system it runs on), an
// instance's live state, webhook address and firing history, and a system's triggers.
//
// The editor's inputs are named by their path in the Trigger document (`name`,
// `conditions.comparisons.0.left.status`, `actions.functions.0.method`), so an API error lands
// beside the input it names (http.js `showErrors`). The system chosen as the trigger's
// `control_system_id` suggests its modules (Name_N), their status keys and their drivers'
// functions, and lets the API check function actions against it. Only the API checks: a value
// typed here that the API refuses comes back as its 422, in words, beside the field.
// This script is loaded on the first page that needs it, not with the console's first paint.

import { badge, field, fill, h, show, uid } from "/ui/dom.js";
import { api, clearErrors, showErrors } from "/ui/http.js";
import { functionSchemas } from "/ui/schema_form.js";
import { link, optionsOf, resourcePage, text } from "./crud.js";
import { addressed, loadSystem } from "./pages.js";

// How often an instance page reads its count and history again (firings arrive from the edge).
const HISTORY_REFRESH_MS = 3000;

// PlaceOS's operators, with how the list shows them.
const OPERATORS = [
  ["equal", "=="], ["not_equal", "!="], ["greater_than", ">"], ["greater_than_or_equal", ">="],
  ["less_than", "<"], ["less_than_or_equal", "<="], ["and", "and"], ["or", "or"], ["exclusive_or", "xor"],
];
const SYMBOLS = Object.fromEntries(OPERATORS);
const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

const isStatus = (value) => Boolean(value) && typeof value === "object" && !Array.isArray(value) && "mod" in value;
const operandText = (o) => (isStatus(o) ? `${o.mod}.${o.status}${(o.keys || []).map((k) => `[${k}]`).join("")}` : JSON.stringify(o));
const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "—");
const times = (n) => `${n} ${n === 1 ? "time" : "times"}`;

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

// What a system offers the editor: its modules' addresses and functions, status keys on demand.
async function systemKnowledge(sysId) {
  if (!sysId) return { sysId, modules: [], states: {} };
  const { system, modules, drivers } = await loadSystem(sysId);
  return {
    sysId,
    modules: addressed(system, modules).map(({ module, name, index }) => ({ slug: `${name}_${index}`, functions: functionSchemas(drivers[module.driver_id]) })),
    states: {},
  };
}

async function statusKeys(knowledge, slug) {
  if (!knowledge.sysId || !knowledge.modules.some((m) => m.slug === slug)) return [];
  knowledge.states[slug] ||= api(`/systems/${encodeURIComponent(knowledge.sysId)}/${encodeURIComponent(slug)}`).then((s) => Object.keys(s || {}).sort(), () => []);
  return knowledge.states[slug];
}

const options = (list, values) => fill(list, values.map((v) => h("option", { value: v })));

// An input whose `data-part` is its path within its row; `renumber` names it `<list>.<n>.<part>`.
function part(name, attrs = {}, tag = "input") {
  return h(tag, { ...attrs, dataset: { part: name } });
}

const partOf = (row, name) => row.querySelector(`[data-part="${name}"]`);

// JSON typed in a field; a constant may also be plain text. A field that does not parse is a problem.
function parsed(el, problems, { empty, text: plain = false } = {}) {
  const raw = el.value.trim();
  if (raw === "") return empty;
  try {
    return JSON.parse(raw);
  } catch (err) {
    if (plain) return el.value;
    problems.push({ field: el.name, message: `is not valid JSON (${err.message})` });
    return undefined;
  }
}

const list = (value) => value.split(",").map((s) => s.trim()).filter(Boolean);

// A list of rows (comparisons, function calls, ...), each removable, its inputs named by path.
function rowList({ path, legend, addLabel, empty, items, row }) {
  const rows = h("div", { class: "stack" });
  const renumber = () => [...rows.children].forEach((el, n) => {
    el.querySelectorAll("[data-part]").forEach((input) => { input.name = `${path}.${n}.${input.dataset.part}`; });
    el.querySelector("legend").textContent = `${legend} ${n + 1}`;
    el.querySelector("[data-remove]").setAttribute("aria-label", `Remove ${legend.toLowerCase()} ${n + 1}`);
  });
  const add = (item) => {
    const fieldset = h("fieldset", { dataset: { row: path } }, h("legend", {}));
    const remove = h("button", { type: "button", class: "danger", dataset: { remove: "" } }, "Remove");
    fieldset.append(...[row(item, fieldset)].flat(), h("div", { class: "row" }, remove));
    remove.addEventListener("click", () => { fieldset.remove(); renumber(); });
    rows.append(fieldset);
    renumber();
    return fieldset;
  };
  (items || []).forEach(add);
  const section = h("section", { class: "stack", "aria-label": `${legend}s` },
    rows,
    h("button", { type: "button", onclick: () => add(empty())?.querySelector("input,select,textarea")?.focus() }, addLabel));
  return { section, rows: () => [...rows.children] };
}

// One side of a comparison: a module's status `{mod, status, keys}` or a constant.
function operand(side, value, row, knowledge, moduleList) {
  const status = isStatus(value) || (value === undefined && side === "left");
  const kind = h("select", {}, h("option", { value: "status" }, "a module's status"), h("option", { value: "constant" }, "a constant"));
  kind.value = status ? "status" : "constant";
  const statuses = h("datalist", { id: uid("statuses") });
  const mod = part(`${side}.mod`, { list: moduleList.id, value: status ? value?.mod ?? "" : "", placeholder: "Display_1", autocomplete: "off" });
  const key = part(`${side}.status`, { list: statuses.id, value: status ? value?.status ?? "" : "", placeholder: "power", autocomplete: "off" });
  const keys = part(`${side}.keys`, { value: status ? (value?.keys || []).join(", ") : "" });
  const constant = part(side, { class: "mono", value: !status && value !== undefined ? JSON.stringify(value) : "", placeholder: "60, true, \"hdmi1\"" });
  const statusFields = h("div", { class: "inline top" }, field("Module", mod), field("Status", key), field("Keys", keys, "a path into it, comma separated, e.g. 0, hours"));
  const constantFields = h("div", { class: "inline top" }, field("Value", constant, "JSON, or plain text"));
  const suggest = async () => options(statuses, await statusKeys(knowledge(), mod.value.trim()));
  mod.addEventListener("change", suggest);
  const draw = () => { statusFields.hidden = kind.value !== "status"; constantFields.hidden = kind.value === "status"; };
  kind.addEventListener("change", draw);
  draw();
  if (status) suggest();
  row.operands = row.operands || {};
  row.operands[side] = (problems) => (kind.value === "status"
    ? { mod: mod.value.trim(), status: key.value.trim(), keys: list(keys.value) }
    : parsed(constant, problems, { empty: "", text: true }));
  return h("fieldset", { class: "operand" }, h("legend", {}, side === "left" ? "Left side" : "Right side"), field("Source", kind), statusFields, constantFields, statuses);
}

function comparisonRow(value, row, knowledge, moduleList) {
  const operator = part("operator", {}, "select");
  OPERATORS.forEach(([op, symbol]) => operator.append(h("option", { value: op }, `${op.replaceAll("_", " ")} (${symbol})`)));
  operator.value = value.operator || "equal";
  return h("div", { class: "comparison" }, operand("left", value.left, row, knowledge, moduleList), field("Operator", operator), operand("right", value.right, row, knowledge, moduleList));
}

const localInput = (seconds) => {
  if (!seconds) return "";
  const d = new Date(seconds * 1000);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

function timeRow(value, zones) {
  const type = part("type", {}, "select");
  type.append(h("option", { value: "at" }, "at one moment"), h("option", { value: "cron" }, "on a cron schedule"));
  type.value = value.type || "cron";
  const at = part("time", { type: "datetime-local", value: localInput(value.time) });
  const cron = part("cron", { class: "mono", value: value.cron || "", placeholder: "0 8 * * 1-5" });
  const timezone = part("timezone", { list: zones.id, value: value.timezone || "", placeholder: "Australia/Sydney", autocomplete: "off" });
  const atFields = h("div", { class: "inline top" }, field("Moment", at, "in this browser's time zone"));
  const cronFields = h("div", { class: "inline top" }, field("Cron expression", cron, "minute hour day month weekday"), field("Time zone", timezone, "IANA name; blank is UTC"));
  const draw = () => { atFields.hidden = type.value !== "at"; cronFields.hidden = type.value === "at"; };
  type.addEventListener("change", draw);
  draw();
  return [h("div", { class: "inline top" }, field("Met", type)), atFields, cronFields];
}

function functionRow(value, knowledge, moduleList) {
  const methods = h("datalist", { id: uid("methods") });
  const mod = part("mod", { list: moduleList.id, value: value.mod || "", placeholder: "Display_1", autocomplete: "off" });
  const method = part("method", { list: methods.id, value: value.method || "", placeholder: "power", autocomplete: "off" });
  const args = part("args", { rows: 2 }, "textarea");
  args.value = value.args === undefined ? "" : JSON.stringify(value.args);
  const signature = h("p", { class: "muted small", "aria-live": "polite" });
  const functionsOf = () => knowledge().modules.find((m) => m.slug === mod.value.trim())?.functions || {};
  const describe = () => {
    const schema = functionsOf()[method.value.trim()];
    signature.textContent = schema
      ? `${method.value.trim()}(${Object.entries(schema).map(([a, s]) => `${a}: ${s.type || "any"}${"default" in s ? ` = ${JSON.stringify(s.default)}` : ""}`).join(", ")})`
      : "";
    // A fresh call gets its arguments' defaults to edit (required ones as null).
    if (schema && args.value.trim() === "") {
      args.value = JSON.stringify(Object.fromEntries(Object.entries(schema).map(([a, s]) => [a, "default" in s ? s.default : null])));
    }
  };
  mod.addEventListener("change", () => { options(methods, Object.keys(functionsOf()).sort()); describe(); });
  method.addEventListener("change", describe);
  options(methods, Object.keys(functionsOf()).sort());
  describe();
  return [h("div", { class: "inline top" }, field("Module", mod), field("Function", method)),
    field("Arguments", args, "JSON: an object by name or an array in order"), signature, methods];
}

function mailerRow(value) {
  const emails = part("emails", { value: (value.emails || []).join(", "), placeholder: "facilities@example.com" });
  const content = part("content", { rows: 3 }, "textarea");
  content.value = value.content || "";
  return [field("To", emails, "comma separated; the subject is the trigger's name"), field("Message", content)];
}

function webhookRow(value) {
  const method = part("method", {}, "select");
  HTTP_METHODS.forEach((m) => method.append(h("option", { value: m }, m)));
  method.value = value.method || "POST";
  const url = part("url", { value: value.url || "", placeholder: "https://example.com/hook" });
  const headers = part("headers", { rows: 2 }, "textarea");
  headers.value = value.headers && Object.keys(value.headers).length ? JSON.stringify(value.headers) : "";
  const body = part("body", { rows: 3 }, "textarea");
  body.value = value.body || "";
  const timeout = part("timeout", { type: "number", step: "any", value: value.timeout ?? 10 });
  const retries = part("retries", { type: "number", step: "1", value: value.retries ?? 2 });
  return [h("div", { class: "inline top" }, field("Method", method), field("URL", url)),
    field("Headers", headers, "JSON object"), field("Body", body, "$trigger_name, $system_id, … are filled in"),
    h("div", { class: "inline top" }, field("Timeout (s)", timeout), field("Retries", retries))];
}

// The editor: a Trigger document as a form; `onSaved(trigger)` once the API accepted it.
export async function triggerEditor(trigger, onSaved) {
  const editing = Boolean(trigger?.id);
  trigger = trigger || {};
  let knowledge = await systemKnowledge(trigger.control_system_id);
  const know = () => knowledge;
  const moduleList = h("datalist", { id: uid("modules") });
  const zones = h("datalist", { id: uid("zones") });
  const showModules = () => options(moduleList, knowledge.modules.map((m) => m.slug));
  showModules();
  options(zones, Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : []);

  const systems = await optionsOf("/systems");
  const system = h("select", { name: "control_system_id" }, h("option", { value: "" }, "(none: any system)"),
    systems.map((o) => h("option", { value: o.value, selected: o.value === trigger.control_system_id }, o.label)));
  system.addEventListener("change", async () => {
    knowledge = await systemKnowledge(system.value);
    showModules();
  });
  const name = h("input", { name: "name", value: trigger.name || "" });
  const description = h("input", { name: "description", value: trigger.description || "" });
  const debounce = h("input", { name: "debounce_period", type: "number", min: "0", step: "1", value: trigger.debounce_period ?? 0 });
  const check = (key, label, hint) => {
    const el = h("input", { type: "checkbox", name: key, id: uid("f") });
    el.checked = Boolean(trigger[key]);
    return h("div", { class: "field check" }, el, h("label", { for: el.id }, label, hint ? h("span", { class: "hint" }, ` (${hint})`) : null));
  };
  const methods = h("select", { name: "supported_methods", multiple: true, size: 5 },
    HTTP_METHODS.map((m) => h("option", { value: m, selected: (trigger.supported_methods || ["POST"]).includes(m) }, m)));

  const methodsField = field("Webhook methods", methods, "the ones its address answers");
  const c = trigger.conditions || {};
  const a = trigger.actions || {};
  const comparisons = rowList({
    path: "conditions.comparisons", legend: "Comparison", addLabel: "Add a comparison", items: c.comparisons,
    empty: () => ({ left: { mod: knowledge.modules[0]?.slug || "", status: "", keys: [] }, operator: "equal", right: true }),
    row: (value, row) => comparisonRow(value, row, know, moduleList),
  });
  const times = rowList({
    path: "conditions.time_dependents", legend: "Time condition", addLabel: "Add a time condition", items: c.time_dependents,
    empty: () => ({ type: "cron", cron: "", timezone: Intl.DateTimeFormat().resolvedOptions().timeZone }),
    row: (value) => timeRow(value, zones),
  });
  const functions = rowList({
    path: "actions.functions", legend: "Function call", addLabel: "Add a function call", items: a.functions,
    empty: () => ({ mod: knowledge.modules[0]?.slug || "" }),
    row: (value) => functionRow(value, know, moduleList),
  });
  const mailers = rowList({ path: "actions.mailers", legend: "E-mail", addLabel: "Add an e-mail", items: a.mailers, empty: () => ({}), row: mailerRow });
  const webhooks = rowList({ path: "actions.webhooks", legend: "Outgoing webhook", addLabel: "Add an outgoing webhook", items: a.webhooks, empty: () => ({}), row: webhookRow });

  const title = editing ? `Edit trigger ${trigger.name}` : "New trigger";
  const outcome = h("p", { class: "result", role: "status", "aria-live": "polite" });
  const form = h("form", { class: "card stack trigger-editor", "aria-label": title, dataset: { resource: "triggers" } },
    editing ? h("h2", {}, title) : null,
    field("Name", name), field("Description", description),
    field("Written for system", system, "suggests its modules and functions; the API checks function calls against it"),
    h("section", { class: "stack", "aria-labelledby": "conditions-title" },
      h("h3", { id: "conditions-title" }, "When"),
      comparisons.section, times.section,
      check("any_match", "Any one condition is enough", "else all must be met"),
      check("enable_webhook", "A webhook call is a condition", "met for a moment when its address is called"),
      methodsField),
    h("section", { class: "stack", "aria-labelledby": "actions-title" },
      h("h3", { id: "actions-title" }, "Then"),
      functions.section, mailers.section, webhooks.section),
    h("div", { class: "inline top" }, field("Debounce (ms)", debounce, "a new firing within this time of the last is skipped")),
    check("important", "Important", "its firings are flagged"),
    moduleList, zones,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, editing ? "Save trigger" : "Create trigger"), outcome));

  // The webhook's methods matter only with the webhook on.
  const webhookOn = form.elements.enable_webhook;
  const drawMethods = () => { methodsField.hidden = !webhookOn.checked; };
  webhookOn.addEventListener("change", drawMethods);
  drawMethods();

  const read = () => {
    const problems = [];
    const body = {
      name: name.value,
      description: description.value,
      control_system_id: system.value || null,
      debounce_period: debounce.value === "" ? 0 : Number(debounce.value),
      any_match: form.elements.any_match.checked,
      enable_webhook: form.elements.enable_webhook.checked,
      important: form.elements.important.checked,
      supported_methods: [...methods.selectedOptions].map((o) => o.value),
      conditions: {
        comparisons: comparisons.rows().map((row) => ({ left: row.operands.left(problems), operator: partOf(row, "operator").value, right: row.operands.right(problems) })),
        time_dependents: times.rows().map((row) => {
          const type = partOf(row, "type").value;
          if (type === "cron") return { type, cron: partOf(row, "cron").value.trim(), timezone: partOf(row, "timezone").value.trim() };
          const at = partOf(row, "time").value;
          return at ? { type, time: Math.floor(new Date(at).getTime() / 1000) } : { type };
        }),
      },
      actions: {
        functions: functions.rows().map((row) => ({ mod: partOf(row, "mod").value.trim(), method: partOf(row, "method").value.trim(), args: parsed(partOf(row, "args"), problems, { empty: {} }) })),
        mailers: mailers.rows().map((row) => ({ emails: list(partOf(row, "emails").value), content: partOf(row, "content").value })),
        webhooks: webhooks.rows().map((row) => ({
          method: partOf(row, "method").value, url: partOf(row, "url").value.trim(),
          headers: parsed(partOf(row, "headers"), problems, { empty: {} }), body: partOf(row, "body").value,
          timeout: Number(partOf(row, "timeout").value || 10), retries: Number(partOf(row, "retries").value || 0),
        })),
      },
    };
    return { body, problems };
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    outcome.className = "result";
    outcome.textContent = "";
    const { body, problems } = read();
    if (problems.length) { showErrors(form, { fields: problems, message: "" }); return; }
    try {
      const saved = editing
        ? await api(`/triggers/${encodeURIComponent(trigger.id)}`, { method: "PATCH", body })
        : await api("/triggers", { method: "POST", body });
      outcome.className = "result ok";
      outcome.textContent = "Saved.";
      onSaved(saved);
    } catch (err) {
      showErrors(form, err);
    }
  });
  return form;
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

// #/trigger_instances/{id}: the instance's live state, its webhook address and its firings.
export async function instancePage(main, ctx, id) {
  let instance = await api(`/trigger_instances/${encodeURIComponent(id)}`);
  const [trigger, system] = await Promise.all([
    api(`/triggers/${encodeURIComponent(instance.trigger_id)}`),
    api(`/systems/${encodeURIComponent(instance.control_system_id)}`).catch(() => ({ id: instance.control_system_id, name: instance.control_system_id })),
  ]);
  const count = h("dd", { dataset: { field: "trigger_count" } });
  const enabled = h("dd");
  const toggles = h("div", { class: "row" });
  const outcome = h("p", { class: "result", role: "status", "aria-live": "polite" });
  const live = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Waiting for the site's state…"));
  const history = h("div");
  const patch = (body) => async () => {
    try {
      instance = await api(`/trigger_instances/${encodeURIComponent(id)}`, { method: "PATCH", body });
      outcome.className = "result ok";
      outcome.textContent = "Saved.";
      drawInstance();
    } catch (err) {
      outcome.className = "result bad";
      outcome.textContent = err.message;
    }
  };
  const drawInstance = () => {
    count.textContent = times(instance.trigger_count);
    fill(enabled, instance.enabled ? badge("enabled", "ok") : badge("disabled", "warn"), " ",
      instance.exec_enabled ? badge("webhook may run functions", "warn") : null);
    fill(toggles,
      h("button", { type: "button", onclick: patch({ enabled: !instance.enabled }) }, instance.enabled ? "Disable" : "Enable"),
      trigger.enable_webhook ? h("button", { type: "button", onclick: patch({ exec_enabled: !instance.exec_enabled }) }, instance.exec_enabled ? "Forbid webhook exec" : "Allow webhook exec") : null,
      outcome);
  };
  const refresh = async () => {
    try {
      const [latest, firings] = await Promise.all([api(`/trigger_instances/${encodeURIComponent(id)}`), api(`/trigger_instances/${encodeURIComponent(id)}/history`)]);
      instance = latest;
      drawInstance();
      fill(history, historyTable(firings));
    } catch (err) {
      fill(history, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  };
  drawInstance();
  fill(main, h("div", { class: "stack" },
    h("h1", {}, `${trigger.name} on ${system.display_name || system.name}`),
    h("dl", { class: "kv" },
      h("dt", {}, "Trigger"), h("dd", {}, link(`#/triggers/${trigger.id}`, trigger.name)),
      h("dt", {}, "System"), h("dd", {}, link(`#/systems/${system.id}`, system.name)),
      h("dt", {}, "When"), h("dd", {}, conditionsText(trigger)),
      h("dt", {}, "Then"), h("dd", {}, actionsText(trigger)),
      h("dt", {}, "Made by"), h("dd", {}, instance.zone_id ? `zone ${instance.zone_id}` : "added directly"),
      h("dt", {}, "Runs"), enabled,
      h("dt", {}, "Fired"), count),
    toggles,
    h("section", { class: "card stack", "aria-labelledby": "live-title" }, h("h2", { id: "live-title" }, "State at the site (live)"), live),
    webhookCard(trigger, instance),
    h("section", { class: "card stack", "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "Firing history"),
      h("p", { class: "muted" }, "As the site reported each firing, newest first; a firing while the cloud was unreachable arrives when the link is back."), history)));
  ctx.bind(instance.control_system_id, "_TRIGGER_", 1, id, (state) => fill(live, stateView(trigger, state)));
  await refresh();
  ctx.every(HISTORY_REFRESH_MS, refresh);
}

// A condition's name in the state (`comparison_0`, `time_1`, `webhook`) with what it is.
function conditionName(trigger, name) {
  const [kind, n] = name.split("_");
  const c = trigger.conditions || {};
  const one = kind === "comparison" ? { conditions: { comparisons: [c.comparisons?.[n]].filter(Boolean) } }
    : kind === "time" ? { conditions: { time_dependents: [c.time_dependents?.[n]].filter(Boolean) } } : null;
  return one ? `${name}: ${conditionsText(one)}` : name;
}

// The `_TRIGGER_` binding's value: triggered, which conditions are met, errors with reasons.
function stateView(trigger, state) {
  if (!state || typeof state !== "object") return h("p", { class: "muted" }, "No site evaluates this instance now (its system's site is offline, or the instance is disabled).");
  const errors = Object.entries(state.errors || {});
  const actionErrors = state.last_action_errors || [];
  return [
    h("p", {}, state.triggered ? badge("triggered", "ok") : badge("not triggered", "warn"), " ",
      `fired ${times(state.trigger_count)} at the site; last ${state.last_fired ? when(state.last_fired) : "never"}`,
      state.debounced ? `; ${state.debounced} skipped by debounce` : ""),
    h("table", {}, h("caption", {}, "Conditions"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Condition"), h("th", { scope: "col" }, "Met"))),
      h("tbody", {}, Object.entries(state.conditions || {}).map(([name, met]) => h("tr", { dataset: { condition: name, met: String(Boolean(met)) } },
        h("th", { scope: "row" }, conditionName(trigger, name)), h("td", {}, met ? badge("met", "ok") : badge("not met", "warn")))))),
    errors.length ? h("div", {}, h("h3", {}, `Comparison errors (${state.comparison_errors})`),
      h("ul", {}, errors.map(([name, why]) => h("li", {}, h("code", {}, name), `: ${why}`)))) : null,
    actionErrors.length ? h("div", {}, h("h3", {}, `Action errors (${state.action_errors})`),
      h("ul", {}, actionErrors.map((e) => h("li", {}, h("code", {}, e.action), `: ${show(e.error)} (${when(e.at)})`)))) : null,
  ];
}

function webhookCard(trigger, instance) {
  if (!trigger.enable_webhook) {
    return h("section", { class: "card", "aria-labelledby": "webhook-title" }, h("h2", { id: "webhook-title" }, "Webhook"),
      h("p", { class: "muted" }, "Off: tick \u201cA webhook call is a condition\u201d on the trigger to give this instance an address."));
  }
  const url = `${location.origin}/api/engine/v2/webhook/${encodeURIComponent(instance.id)}/notify?secret=${encodeURIComponent(instance.webhook_secret || "")}`;
  return h("section", { class: "card stack", "aria-labelledby": "webhook-title" }, h("h2", { id: "webhook-title" }, "Webhook"),
    h("p", {}, `Call this address with ${(trigger.supported_methods || ["POST"]).join(" or ")} to meet the webhook condition. Keep it secret: the address is the credential.`),
    h("pre", { class: "log", "aria-label": "Webhook address", dataset: { field: "webhook" } }, url),
    instance.exec_enabled ? h("p", { class: "muted small" }, "Add &exec=true&mod=Display&index=1&method=power to run a function of the system instead (the body is its arguments).") : null);
}

function historyTable(firings) {
  if (!firings.length) return h("p", { class: "muted" }, "It has not fired yet.");
  return h("table", {}, h("caption", { class: "visually-hidden" }, "Firings"),
    h("thead", {}, h("tr", {}, ["#", "When", "Cause", "Conditions met", "Actions", "Reported by"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, firings.map((f) => h("tr", { dataset: { firing: String(f.count) } },
      h("td", {}, String(f.count)),
      h("td", {}, when(f.at)),
      h("td", {}, h("code", {}, text(f.cause))),
      h("td", {}, Object.entries(f.conditions || {}).filter(([, met]) => met).map(([name]) => name).join(", ") || "—"),
      h("td", {}, f.outcomes === null ? h("span", { class: "muted" }, "running or not reported") : f.outcomes.map((o) => h("div", { dataset: { outcome: o.ok ? "ok" : "failed" } },
        o.ok ? badge("ok", "ok") : badge("failed", "bad"), " ", h("code", {}, o.action), o.error ? `: ${o.error}` : ""))),
      h("td", {}, h("code", {}, f.node_id))))));
}
