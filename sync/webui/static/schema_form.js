// A form per driver function, generated from its metadata, with the call's result or error below.
//
// Driver metadata describes each argument either as JSON schema (`interface`: {fn: {arg: schema}})
// or as PlaceOS's type table (`functions`: {fn: {arg: [type] | [type, default]}}); both become
// the same inputs: a checkbox for a boolean, a number field, a text field, a list for an enum,
// and JSON text for anything else. Arguments are sent in order, as PlaceOS's exec expects.

import { field, h, show, uid } from "./dom.js";

const PY_TYPES = { bool: "boolean", int: "integer", float: "number", str: "string" };

// {fn: {arg: schema}} from a driver document's `functions` (full metadata or a bare table).
export function functionSchemas(driver) {
  const raw = (driver && driver.functions) || {};
  if (raw.interface && typeof raw.interface === "object") return raw.interface;
  const table = raw.functions && typeof raw.functions === "object" ? raw.functions : raw;
  const out = {};
  for (const [name, args] of Object.entries(table)) {
    out[name] = {};
    for (const [arg, spec] of Object.entries(args || {})) {
      const [type, ...rest] = Array.isArray(spec) ? spec : [String(spec)];
      const schema = PY_TYPES[String(type).trim()] ? { type: PY_TYPES[String(type).trim()] } : {};
      if (rest.length) schema.default = rest[0];
      out[name][arg] = schema;
    }
  }
  return out;
}

function kind(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  return ["boolean", "integer", "number", "string"].includes(schema.type) ? schema.type : "json";
}

function input(arg, schema) {
  const name = `arg-${arg}`;
  const type = kind(schema);
  const has = Object.prototype.hasOwnProperty.call(schema, "default");
  if (type === "boolean") {
    const el = h("select", { name, dataset: { kind: type } },
      h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"));
    el.value = has ? String(schema.default) : "true";
    return el;
  }
  if (type === "enum") {
    return h("select", { name, dataset: { kind: type } }, schema.enum.map((v) => h("option", { value: JSON.stringify(v) }, show(v))));
  }
  if (type === "integer" || type === "number") {
    return h("input", { name, type: "number", step: type === "integer" ? "1" : "any", value: has ? schema.default : "", required: !has, dataset: { kind: type } });
  }
  if (type === "string") return h("input", { name, value: has ? schema.default : "", required: !has, dataset: { kind: type } });
  return h("input", { name, class: "mono", value: has ? JSON.stringify(schema.default) : "", required: !has, placeholder: "JSON", dataset: { kind: "json" } });
}

function read(el) {
  const type = el.dataset.kind;
  if (type === "boolean") return el.value === "true";
  if (type === "enum") return JSON.parse(el.value);
  if (type === "integer" || type === "number") return Number(el.value);
  if (type === "string") return el.value;
  return JSON.parse(el.value);
}

// A form that calls `run(args)` (a promise of the result) and shows what came back.
export function functionForm(name, args, run, { description = "" } = {}) {
  const result = h("p", { class: "result", role: "status", "aria-live": "polite" });
  const inputs = Object.entries(args || {}).map(([arg, schema]) => [arg, input(arg, schema || {})]);
  const title = uid("fn");
  const form = h("form", { class: "inline", "aria-labelledby": title, dataset: { function: name } },
    h("h3", { id: title, class: "full flush" }, name,
      description ? h("span", { class: "muted small" }, ` ${description}`) : null),
    inputs.map(([arg, el]) => field(arg, el)),
    h("button", { type: "submit", class: "primary" }, `Run ${name}`),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let values;
    try {
      values = inputs.map(([, el]) => read(el));
    } catch (err) {
      result.className = "result bad";
      result.textContent = `Not valid JSON: ${err.message}`;
      return;
    }
    result.className = "result";
    result.textContent = "Running…";
    try {
      const value = await run(values);
      result.className = "result ok";
      result.textContent = `Result: ${value === undefined || value === null ? "done" : show(value)}`;
    } catch (err) {
      result.className = "result bad";
      result.textContent = `Error: ${err.message}`;
    }
  });
  return form;
}
