// The exceptions queue (the incidents API): severity, age, status, and the playbook's actions.

import { ApiError } from "./api.js";
import { age, el } from "./dom.js";

export const RESOLUTION_CODES = ["fixed", "false_alarm", "cleared", "delivered", "rescheduled", "handed_over", "cancelled", "other"];
const RANK = { critical: 0, high: 1, medium: 2, low: 3 };

export async function loadIncidents(api, { hubId, withAcknowledged }) {
  const query = new URLSearchParams({ status: withAcknowledged ? "open,acknowledged" : "open", limit: "200" });
  if (hubId) query.set("hub_id", hubId);
  const page = await api(`/v1/incidents?${query}`);
  return page.items.sort((a, b) => RANK[a.severity] - RANK[b.severity] || b.occurred_at.localeCompare(a.occurred_at));
}

export function renderIncidents(list, incidents, act) {
  if (!incidents.length) {
    list.replaceChildren(el("li", { class: "muted", text: "Nothing to triage." }));
    return;
  }
  list.replaceChildren(...incidents.map((incident) => item(incident, act)));
}

function item(incident, act) {
  const id = incident.id;
  const actions = el("div", { class: "actions" });
  if (incident.status === "open") {
    actions.append(el("button", { type: "button", class: "acknowledge", text: "Acknowledge", onclick: () => act(`/v1/incidents/${id}/acknowledge`, undefined) }));
  }
  for (const step of incident.playbook || []) {
    if (step.taken_at) {
      actions.append(el("span", { class: "badge", text: `✓ ${step.title}` }));
    } else {
      actions.append(
        el("button", {
          type: "button",
          class: "quiet playbook",
          title: step.action ? `runs ${step.action}` : "marks this manual step done",
          text: step.title,
          onclick: () => act(`/v1/incidents/${id}/playbook/${step.step}`, {}),
        })
      );
    }
  }
  const code = el("select", { "aria-label": "resolution", class: "resolution" }, ...RESOLUTION_CODES.map((c) => el("option", { value: c, text: c.replace("_", " ") })));
  actions.append(code, el("button", { type: "button", class: "resolve", text: "Resolve", onclick: () => act(`/v1/incidents/${id}/resolve`, { resolution_code: code.value }) }));
  const subject = incident.subject || incident.shipment_id || incident.driver_id || "";
  return el(
    "li",
    { class: "incident", dataset: { incidentId: id, severity: incident.severity, status: incident.status } },
    el(
      "div",
      { class: "head" },
      el("span", { class: "badge", text: incident.severity }),
      el("strong", { text: incident.kind.replaceAll("_", " ") }),
      el("span", { class: "muted age", dataset: { since: incident.occurred_at }, text: age(incident.occurred_at) }),
      el("span", { class: "badge status", text: incident.status })
    ),
    el("div", { class: "muted", text: subject }),
    actions
  );
}

export function refreshAges(list) {
  for (const node of list.querySelectorAll(".age[data-since]")) node.textContent = age(node.dataset.since);
}

export function explain(error) {
  if (error instanceof ApiError && error.status === 404) {
    return new Error("The exceptions queue is not available on this server yet.");
  }
  return error;
}
