// The console's shell: log in (OAuth code + PKCE), then a page per address (#/systems/sys-...).
//
// Each page gets a context whose timers, bindings and debug follows end when the page is left,
// so a page never leaks a subscription into the next one.

import { fill, h } from "/ui/dom.js";
import { api, onUnauthorized, setCredential } from "/ui/http.js";
import { ControlSocket } from "/ui/control.js";
import { finishLogin, forgetToken, logout, registered, savedToken, startLogin } from "./auth.js";
import { resourcePage } from "./crud.js";
import * as pages from "./pages.js";
import * as resources from "./resources.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const search = document.getElementById("search");
let token = null;
let socket = null;
let cleanups = [];

const ROUTES = [
  [/^#?\/?$/, (ctx) => pages.edgesPage(main, ctx)],
  [/^#\/edges$/, (ctx) => pages.edgesPage(main, ctx)],
  [/^#\/zones$/, () => pages.zonesPage(main)],
  [/^#\/systems$/, () => resourcePage(main, resources.systems)],
  [/^#\/systems\/([^/]+)$/, (ctx, id) => pages.systemPage(main, ctx, id)],
  [/^#\/modules$/, () => resourcePage(main, resources.modules)],
  [/^#\/modules\/([^/]+)$/, (ctx, id) => pages.modulePage(main, ctx, id)],
  [/^#\/drivers$/, () => resourcePage(main, resources.drivers)],
  [/^#\/drivers\/([^/]+)$/, (ctx, id) => pages.driverPage(main, ctx, id)],
  [/^#\/triggers$/, (ctx) => lazy("./triggers.js", "triggersPage", ctx)],
  [/^#\/triggers\/new(?:\?sys=(.*))?$/, (ctx, sys) => lazy("./triggers.js", "triggerPage", ctx, "new", sys)],
  [/^#\/triggers\/([^/?]+)$/, (ctx, id) => lazy("./triggers.js", "triggerPage", ctx, id)],
  [/^#\/trigger_instances\/([^/]+)$/, (ctx, id) => lazy("./trigger_instance.js", "instancePage", ctx, id)],
  [/^#\/settings$/, () => resourcePage(main, resources.settings)],
  [/^#\/users$/, () => resourcePage(main, resources.users)],
  [/^#\/api_keys$/, () => resourcePage(main, resources.apiKeys)],
  [/^#\/search\?q=(.*)$/, (ctx, q) => pages.searchPage(main, ctx, q)],
];

// A page whose script is fetched when it is first opened (the first paint does not carry it).
async function lazy(script, page, ctx, ...args) {
  const module = await import(script);
  await module[page](main, ctx, ...args);
}

function pageContext() {
  return {
    every(ms, fn) { const timer = setInterval(fn, ms); cleanups.push(() => clearInterval(timer)); },
    bind(sys, mod, index, name, fn) { cleanups.push(socket.bind(sys, mod, index, name, fn)); },
    debug(moduleId, fn) { cleanups.push(socket.debug(moduleId, fn)); },
  };
}

async function route() {
  cleanups.forEach((stop) => stop());
  cleanups = [];
  const hash = decodeURI(location.hash);
  const path = hash.split("?")[0];
  for (const link of nav.querySelectorAll("a")) {
    const href = link.getAttribute("href");
    const current = path === href || path.startsWith(`${href}/`) || (href === "#/triggers" && path.startsWith("#/trigger_instances/")) || (href === "#/edges" && (hash === "" || hash === "#/"));
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(hash);
    if (!match) continue;
    try {
      await page(pageContext(), ...match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part))));
    } catch (err) {
      fill(main, h("h1", {}, "This page could not be shown"), h("p", { class: "form-error", role: "alert" }, err.message));
    }
    const heading = main.querySelector("h1");
    document.title = `${heading ? heading.textContent : "Console"} · Transom`;
    return;
  }
  fill(main, h("h1", {}, "Not found"), h("p", {}, "No page has this address. ", h("a", { href: "#/edges" }, "Go to sites and edges")));
}

function showProblem(title, words, retry = true) {
  fill(main, h("h1", {}, title), h("p", { class: "form-error", role: "alert" }, words),
    retry ? h("button", { type: "button", class: "primary", onclick: () => startLogin() }, "Sign in") : null);
}

async function boot() {
  try {
    token = (await finishLogin()) || savedToken();
  } catch (err) {
    showProblem("Sign-in failed", err.message);
    return;
  }
  if (!token) {
    if (!registered) {
      showProblem("This console is not registered here",
        `No OAuth application is registered for ${location.origin}. Start the cloud with this address as its public URL (a fixed --listen, or --public-url), then reload.`, false);
      return;
    }
    await startLogin();
    return;
  }
  setCredential({ kind: "bearer", value: token.access_token });
  onUnauthorized(() => { forgetToken(); startLogin(); });
  let me;
  try {
    me = await api("/users/current");
  } catch (err) {
    showProblem("Cannot reach the API", err.message);
    return;
  }
  document.getElementById("who").textContent = `${me.name || me.email || me.id}`;
  const out = document.getElementById("logout");
  out.hidden = false;
  out.addEventListener("click", () => logout(token));
  nav.hidden = false;
  search.hidden = false;
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = search.elements.q.value.trim();
    if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
  });
  socket = new ControlSocket(() => `bearer_token=${encodeURIComponent(token.access_token)}`);
  window.addEventListener("hashchange", route);
  await route();
}

boot();
