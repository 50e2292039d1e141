// The trigger editor: a Trigger document as a form, conditions and actions as rows.
//
// Every input is named by its path in the document (`name`, `conditions.comparisons.0.left.status`,
// `actions.functions.0.method`), so an API error lands beside the input it names (http.js
// `showErrors`); rows are renumbered when one is removed. The system chosen as the trigger's
// `control_system_id` suggests its modules (Name_N), their status keys and their drivers'
// functions (datalists: a value they lack is still sent), and lets the API check function
// actions against it. Only the API checks: what it refuses comes back as its 422, in words.

import { field, fill, h, uid } from "/ui/dom.js";
import { api, clearErrors, showErrors } from "/ui/http.js";
import { functionSchemas } from "/ui/schema_form.js";
import { optionsOf } from "./crud.js";
import { addressed, loadSystem } from "./pages.js";

// PlaceOS's operators, with how the list shows them.
export const OPERATORS = [
  ["equal", "=="], ["not_equal", "!="], ["greater_than", ">"], ["greater_than_or_equal", ">="],
  ["less_than", "<"], ["less_than_or_equal", "<="], ["and", "and"], ["or", "or"], ["exclusive_or", "xor"],
];
const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

export const isStatus = (value) => Boolean(value) && typeof value === "object" && !Array.isArray(value) && "mod" in value;

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
