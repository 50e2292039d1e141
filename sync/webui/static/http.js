// Calls to Transom's REST API with the page's credential, and API errors shown in words.
//
// The API answers errors as {"error": code, "message": words, "fields": [{field, message}]}
// (422 for a document that broke a rule). `showErrors` puts each field's message next to the
// input of that name and the rest at the top of the form, so nothing is lost to a console log.
// A field is a path into the document (`actions.functions.0.method`): the message goes to the
// input named by the longest part of it the form has, so a form for nested documents names its
// inputs by path and a flat form by top-level name.

import { h, uid } from "./dom.js";

export const API = "/api/engine/v2";

let credential = null; // {kind: "bearer" | "api_key", value}
const listeners = new Set();

export function setCredential(value) { credential = value; }
export function getCredential() { return credential; }
// Called with each ApiError of status 401, so a page can go back to its login.
export function onUnauthorized(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function authHeaders() {
  if (!credential) return {};
  return credential.kind === "bearer"
    ? { Authorization: `Bearer ${credential.value}` }
    : { "X-API-Key": credential.value };
}

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && (body.message || body.error_description || body.error)) || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.code = (body && body.error) || "error";
    this.fields = (body && Array.isArray(body.fields)) ? body.fields : [];
  }
}

// One request; the parsed JSON answer (null when empty). Throws ApiError (status 0: unreachable).
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { Accept: "application/json", ...authHeaders(), ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path.startsWith("/") && !path.startsWith(API) && !path.startsWith("/auth") ? API + path : path, init);
  } catch (err) {
    throw new ApiError(0, { error: "unreachable", message: `the server could not be reached (${err.message})` });
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = { message: text.slice(0, 300) }; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed);
    if (response.status === 401) listeners.forEach((fn) => fn(error));
    throw error;
  }
  return raw ? { body: parsed, headers: response.headers } : parsed;
}

// Remove what showErrors added to a form.
export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((el) => el.remove());
  form.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  });
}

// The input a field path names: `a.b.0.c`, else `a.b.0`, `a.b`, `a` (null if none).
function inputFor(form, field) {
  const parts = field.split(".");
  for (let n = parts.length; n > 0; n--) {
    const input = form.querySelector(`[name="${CSS.escape(parts.slice(0, n).join("."))}"]`);
    if (input) return input;
  }
  return null;
}

// Show an error in a form: each field's message beside its input, the rest at the top.
export function showErrors(form, error) {
  clearErrors(form);
  const unplaced = [];
  for (const { field, message } of error.fields || []) {
    const input = inputFor(form, String(field));
    if (!input) { unplaced.push(`${field}: ${message}`); continue; }
    const note = h("p", { class: "field-error", id: uid("error") }, `${field}: ${message}`);
    input.setAttribute("aria-invalid", "true");
    const described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
    input.closest(".field")?.append(note) ?? input.after(note);
  }
  if (!error.fields?.length || unplaced.length) {
    const words = unplaced.length ? unplaced.join("; ") : error.message;
    form.prepend(h("p", { class: "form-error", role: "alert" }, words));
  } else {
    form.querySelector("[aria-invalid]")?.focus();
  }
}

// Decode a status value from a REST state route: raw JSON, or (PlaceOS) JSON text in a string.
export function decodeState(value) {
  if (typeof value !== "string") return value;
  try { return JSON.parse(value); } catch { return value; }
}
