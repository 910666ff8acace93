// The exceptions queue (the incidents API): severity, age, status, and the playbook's actions.

import { ApiError } from "./api.js";
import { age, el } from "./dom.js";

export const RESOLUTION_CODES = ["fixed", "false_alarm", "cleared", "delivered", "rescheduled", "handed_over", "cancelled", "duplicate", "other"];
// What each one-click action needs besides the incident (the API fills in route and shipments).
const NEEDS = {
  reassign_route: ["driver_id"],
  move_stops: ["driver_id"],
  hand_over: ["organization_id"],
  notify_new_window: ["window"],
  reschedule: ["window"],
};
const RANK = { critical: 0, high: 1, medium: 2, low: 3 };

export async function loadIncidents(api, { hubId, withAcknowledged }) {
  const query = new URLSearchParams({ status: withAcknowledged ? "open,acknowledged" : "open", limit: "200" });
  const page = await api(`/v1/incidents?${query}`);
  // Filtered here, not with ?hub_id=: an incident not tied to a hub (some rules leave it
  // empty) still belongs in every hub's queue.
  const items = page.items.filter((i) => !hubId || !i.hub_id || i.hub_id === hubId);
  return items.sort((a, b) => RANK[a.severity] - RANK[b.severity] || b.occurred_at.localeCompare(a.occurred_at));
}

// Drivers and carriers the parameterised steps offer; set once by the caller.
const choices = { driver_id: [], organization_id: [] };
export function setChoices(drivers, organizations) {
  choices.driver_id = drivers.map((d) => [d.id, d.name]);
  choices.organization_id = organizations.map((o) => [o.id, o.name]);
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
    } else if (NEEDS[step.action]) {
      actions.append(stepForm(step, (body) => act(`/v1/incidents/${id}/playbook/${step.step}`, body)));
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

// A step that needs a driver, a carrier or a window: its inputs, then the button.
function stepForm(step, run) {
  const inputs = {};
  const fields = [];
  for (const need of NEEDS[step.action]) {
    if (need === "window") {
      inputs.start = el("input", { type: "datetime-local", "aria-label": "window start", required: true });
      inputs.end = el("input", { type: "datetime-local", "aria-label": "window end", required: true });
      fields.push(inputs.start, inputs.end);
    } else {
      inputs[need] = el("select", { "aria-label": need.replace("_id", "") }, ...choices[need].map(([value, text]) => el("option", { value, text })));
      fields.push(inputs[need]);
    }
  }
  const submit = (event) => {
    event.preventDefault();
    const body = {};
    for (const need of NEEDS[step.action]) {
      if (need === "window") {
        // The browser's clock: datetime-local has no zone, the browser's own is meant.
        body.window = { start: new Date(inputs.start.value).toISOString(), end: new Date(inputs.end.value).toISOString() };
      } else {
        body[need] = inputs[need].value;
      }
    }
    run(body);
  };
  return el("details", { class: "step" }, el("summary", { text: step.title }), el("form", { onsubmit: submit }, ...fields, el("button", { type: "submit", text: "Run" })));
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
