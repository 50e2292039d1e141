// A tiny element builder: h("button", {class: "primary", onclick}, "Save").
// No framework: Transom's pages are small, must load fast on a low-end tablet and need no build.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replace an element's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let counter = 0;
// A unique id for label/for and aria-describedby pairs.
export function uid(prefix = "t") {
  counter += 1;
  return `${prefix}-${counter}`;
}

// A labelled field: <div class=field><label for>..</label><control id>..</div>
export function field(label, control, hint) {
  if (!control.id) control.id = uid("f");
  return h("div", { class: "field" },
    h("label", { for: control.id }, label, hint ? h("span", { class: "hint" }, ` (${hint})`) : null),
    control);
}

// A value as short readable text (status values are any JSON).
export function show(value) {
  if (value === undefined) return "…";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

export function badge(text, tone) {
  return h("span", { class: `badge ${tone}` }, text);
}
