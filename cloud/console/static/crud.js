// Lists and forms for the API's resources, from a small spec per resource (see resources.js).
//
// A spec names the resource's path, the columns of its list and the fields of its form. Each
// field's `name` is the API's field name, so a 422 answer's `fields` land next to the input
// that caused them (http.js `showErrors`). Create is POST, edit PATCH, delete DELETE: the
// same REST API any client uses; nothing here checks what the API checks.

import { field, fill, h, show } from "/ui/dom.js";
import { api, clearErrors, showErrors } from "/ui/http.js";

// Options of a select field: [{value, label}], loaded when the form opens.
export async function optionsOf(path, label = (d) => d.name || d.id) {
  const items = await api(`${path}${path.includes("?") ? "&" : "?"}limit=1000`);
  return items.map((d) => ({ value: d.id, label: label(d) }));
}

function control(spec, value) {
  const name = spec.name;
  switch (spec.type) {
    case "bool": {
      const el = h("input", { type: "checkbox", name, dataset: { type: "bool" } });
      el.checked = Boolean(value);
      return el;
    }
    case "number":
      return h("input", { type: "number", name, value: value ?? "", dataset: { type: "number" } });
    case "json":
      return h("textarea", { name, rows: spec.rows || 4, dataset: { type: "json" } }, value === undefined ? "" : JSON.stringify(value, null, 2));
    case "text":
      return h("textarea", { name, rows: spec.rows || 6, dataset: { type: "text" } }, value ?? "");
    case "tags":
      return h("input", { name, value: (value || []).join(", "), dataset: { type: "tags" } });
    case "password":
      return h("input", { type: "password", name, autocomplete: "new-password", dataset: { type: "string" } });
    case "select":
    case "multi": {
      const el = h("select", { name, multiple: spec.type === "multi", dataset: { type: spec.type } });
      if (spec.type === "select") el.append(h("option", { value: "" }, spec.none || "(none)"));
      for (const option of spec.loaded || []) {
        const selected = spec.type === "multi" ? (value || []).includes(option.value) : value === option.value;
        el.append(h("option", { value: option.value, selected }, option.label));
      }
      return el;
    }
    default:
      return h("input", { name, value: value ?? "", dataset: { type: "string" } });
  }
}

// The form's values as the API takes them; a JSON field that does not parse is a field error.
function valuesOf(form, specs, { editing }) {
  const body = {};
  const problems = [];
  for (const spec of specs) {
    const el = form.elements[spec.name];
    if (!el || spec.local) continue;
    const type = el.dataset.type;
    let value;
    if (type === "bool") value = el.checked;
    else if (type === "number") value = el.value === "" ? undefined : Number(el.value);
    else if (type === "json") {
      if (el.value.trim() === "") value = undefined;
      else {
        try { value = JSON.parse(el.value); } catch (err) { problems.push({ field: spec.name, message: `is not valid JSON (${err.message})` }); }
      }
    } else if (type === "tags") value = el.value.split(",").map((s) => s.trim()).filter(Boolean);
    else if (type === "multi") value = [...el.selectedOptions].map((o) => o.value);
    else if (type === "select") value = el.value || (editing ? null : undefined);
    else value = el.value === "" && !editing ? undefined : el.value;
    if (spec.type === "password" && value === "") value = undefined;
    if (value !== undefined) body[spec.name] = value;
  }
  return { body, problems };
}

// A create or edit form; `onSaved(document, answer)` after the API accepted it.
export async function resourceForm(spec, document, onSaved) {
  const editing = Boolean(document);
  const specs = spec.fields.filter((f) => !(editing && f.createOnly));
  await Promise.all(specs.filter((f) => f.options).map(async (f) => { f.loaded = await f.options(); }));
  const title = editing ? `Edit ${spec.singular} ${document.name || document.id}` : `New ${spec.singular}`;
  const form = h("form", { class: "card", "aria-label": title, dataset: { resource: spec.path } },
    h("h2", {}, title),
    specs.map((f) => field(f.label, control(f, document ? document[f.name] : f.default), f.hint)),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" }, editing ? "Save" : `Create ${spec.singular}`),
      h("button", { type: "button", onclick: () => form.remove() }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { body, problems } = valuesOf(form, specs, { editing });
    if (problems.length) { showErrors(form, { fields: problems, message: "" }); return; }
    try {
      const answer = editing
        ? await api(`/${spec.path}/${encodeURIComponent(document.id)}`, { method: "PATCH", body })
        : await api(`/${spec.path}`, { method: "POST", body });
      if (spec.afterSave) await spec.afterSave(form, answer);
      form.remove();
      onSaved(answer);
    } catch (err) {
      showErrors(form, err);
    }
  });
  return form;
}

// A secret the API shows once (an API key, an edge key): say so, plainly.
export function secretOnce(label, secret) {
  return h("div", { class: "card", role: "alert", dataset: { secret: "" } },
    h("h2", {}, `${label}: copy it now`),
    h("p", {}, "This is shown only this once; the cloud keeps only its hash."),
    h("pre", { class: "log", "aria-label": label }, secret));
}

// A list page: the table, a New button, Edit and Delete on each row.
export async function resourcePage(main, spec, { query = "" } = {}) {
  const notes = h("div", { "aria-live": "polite" });
  const forms = h("div", { class: "stack" });
  const table = h("div");
  const reload = async () => {
    let items;
    try {
      items = await api(`/${spec.path}?limit=500${query}`);
    } catch (err) {
      fill(table, h("p", { class: "form-error", role: "alert" }, err.message));
      return;
    }
    fill(table, listTable(spec, items, { edit, remove }));
    spec.afterReload?.(items);
  };
  const saved = (answer) => {
    const secret = answer && (answer.x_api_key || answer.token);
    fill(notes, secret ? secretOnce(`The new ${spec.singular}'s key`, secret) : null);
    reload();
  };
  // A resource with an editor page of its own (`spec.editHref(document or null)`) goes there.
  async function edit(document) {
    if (spec.editHref) { location.hash = spec.editHref(document); return; }
    fill(forms, await resourceForm(spec, document, saved));
    forms.querySelector("input,select,textarea")?.focus();
  }
  async function remove(document, row) {
    if (!confirm(`Delete ${spec.singular} ${document.name || document.id}?`)) return;
    try {
      await api(`/${spec.path}/${encodeURIComponent(document.id)}`, { method: "DELETE" });
      reload();
    } catch (err) {
      row.after(h("tr", {}, h("td", { colspan: 99, class: "form-error", role: "alert" }, err.message)));
    }
  }
  const create = () => edit(null);
  fill(main,
    h("div", { class: "row" }, h("h1", { class: "grow" }, spec.title),
      spec.readOnly ? null : h("button", { type: "button", class: "primary", onclick: create }, `New ${spec.singular}`)),
    spec.intro ? h("p", { class: "muted" }, spec.intro) : null,
    notes, forms, spec.extra ? await spec.extra(reload) : null, table);
  await reload();
  return reload;
}

export function listTable(spec, items, { edit, remove } = {}) {
  if (!items.length) return h("p", { class: "muted" }, `No ${spec.title.toLowerCase()} yet.`);
  return h("table", {},
    h("caption", { class: "visually-hidden" }, spec.title),
    h("thead", {}, h("tr", {}, spec.columns.map(([label]) => h("th", { scope: "col" }, label)),
      edit ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
    h("tbody", {}, items.map((item) => {
      const row = h("tr", { dataset: { id: item.id } });
      row.append(...spec.columns.map(([, cell]) => h("td", {}, cell(item))));
      // A document hidden at the caller's role (settings above it) cannot be edited from here.
      if (edit && !spec.readOnly && !item.redacted) {
        const label = item.custom_name || item.name || item.id;
        row.append(h("td", {}, h("div", { class: "row" },
          h("button", { type: "button", onclick: () => edit(item), "aria-label": `Edit ${label}` }, "Edit"),
          h("button", { type: "button", class: "danger", onclick: () => remove(item, row), "aria-label": `Delete ${label}` }, "Delete"))));
      }
      return row;
    })));
}

export const link = (href, text) => h("a", { href }, text);
export const text = (value) => (value === undefined || value === null || value === "" ? "—" : show(value));
