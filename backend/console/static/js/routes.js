// Routes of the day: progress per route, from `GET /v1/console/board`.

import { all } from "./api.js";
import { clock, el } from "./dom.js";

export async function loadBoard({ day, hubId }) {
  const params = { date: day };
  if (hubId) params.hub_id = hubId;
  return all("/v1/console/board", params, 100);
}

export function renderRoutes(body, routes) {
  if (!routes.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "No published route on this day." })));
    return;
  }
  body.replaceChildren(
    ...routes.map((route) => {
      const next = route.stops.find((s) => s.eta && ["out_for_delivery", "at_hub", "created"].includes(s.status));
      return el(
        "tr",
        { dataset: { routeId: route.id } },
        el("td", { text: route.driver_name }),
        el("td", { text: route.status.replace("_", " ") }),
        el("td", {}, el("progress", { class: "progress", max: String(route.total || 1), value: String(route.done) }), ` ${route.done}/${route.total}`),
        el("td", { class: "progress-text", text: `${route.delivered} delivered, ${route.total - route.done} to go` }),
        el("td", { text: next ? clock(next.eta) : "–" })
      );
    })
  );
}
