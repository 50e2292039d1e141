// A trigger instance's page (#/trigger_instances/{id}): its state at the site, live over the
// control socket (`_TRIGGER_` binding), its webhook address, and its firing history as the
// site reported it (`GET /trigger_instances/{id}/history`), with `trigger_count`.

import { badge, fill, h, show } from "/ui/dom.js";
import { api } from "/ui/http.js";
import { link, text } from "./crud.js";
import { actionsText, conditionsText, times, when } from "./triggers.js";

// How often the page reads its count and history again (firings arrive from the edge).
const HISTORY_REFRESH_MS = 3000;

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
