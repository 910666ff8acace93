// Planning, disruptions and drills: start a plan or a recovery, follow it, apply it.

import { all, api } from "./api.js";
import { clock, el, showError } from "./dom.js";

const DONE = new Set(["done", "failed"]);

export class PlanningScreen {
  constructor(context) {
    this.context = context; // () => {day, hubId}
    this.plan = document.getElementById("plan");
    this.planError = document.getElementById("plan-error");
    this.disruptions = document.getElementById("disruptions");
    this.disruptionError = document.getElementById("disruption-error");
    document.getElementById("plan-form").addEventListener("submit", (e) => this.startPlan(e));
    document.getElementById("disruption-form").addEventListener("submit", (e) => this.startDisruption(e));
  }

  async show() {
    const { hubId } = this.context();
    const drivers = await all("/v1/drivers", {}, 500).catch(() => []);
    const select = document.getElementById("disruption-driver");
    this.names = new Map(drivers.map((d) => [d.id, d.name]));
    select.replaceChildren(...drivers.filter((d) => !hubId || d.home_hub_id === hubId).map((d) => el("option", { value: d.id, text: d.name })));
    await this.loadDisruptions();
  }

  driverName(id) {
    return (this.names && this.names.get(id)) || id;
  }

  async startPlan(event) {
    event.preventDefault();
    const { day, hubId } = this.context();
    const limit = Number(new FormData(event.target).get("time_limit_s")) || 10;
    if (!hubId) {
      showError(this.planError, new Error("Choose a hub first: a plan covers one hub's day."));
      return;
    }
    try {
      showError(this.planError, null);
      const plan = await api("/v1/plans", { method: "POST", body: { hub_id: hubId, date: day, time_limit_s: limit } });
      await this.follow(plan.id);
    } catch (error) {
      showError(this.planError, error);
    }
  }

  async follow(planId) {
    let plan = await api(`/v1/plans/${planId}`);
    this.renderPlan(plan);
    while (!DONE.has(plan.status)) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      plan = await api(`/v1/plans/${planId}`);
      this.renderPlan(plan);
    }
  }

  renderPlan(plan) {
    const apply = el("button", {
      type: "button",
      text: "Apply this plan",
      disabled: !(plan.status === "done" && !plan.applied_at),
      onclick: async () => {
        try {
          this.renderPlan(await api(`/v1/plans/${plan.id}/apply`, { method: "POST" }));
        } catch (error) {
          showError(this.planError, error);
        }
      },
    });
    this.plan.replaceChildren(
      el("p", { text: `Plan ${plan.status}: ${plan.routes.length} routes, ${plan.unassigned.length} shipments left out, cost ${plan.cost ?? "–"}` }),
      el("ul", {}, ...plan.routes.map((r) => el("li", { text: `${this.driverName(r.driver_id)}: ${r.stops.length} stops, ${(r.distance_m / 1000).toFixed(1)} km, ${clock(r.start)}–${clock(r.end)}` }))),
      plan.error ? el("p", { class: "error", text: plan.error }) : null,
      apply
    );
  }

  async startDisruption(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      showError(this.disruptionError, null);
      await api("/v1/disruptions", { method: "POST", body: { kind: form.get("kind"), mode: form.get("mode"), driver_id: form.get("driver_id") } });
      await this.loadDisruptions();
    } catch (error) {
      showError(this.disruptionError, error);
    }
  }

  async loadDisruptions() {
    const { hubId } = this.context();
    const params = hubId ? { hub_id: hubId } : {};
    const items = await all("/v1/disruptions", params, 100).catch((error) => {
      showError(this.disruptionError, error);
      return [];
    });
    if (!items.length) {
      this.disruptions.replaceChildren(el("li", { class: "muted", text: "No disruption or drill yet." }));
      return;
    }
    this.disruptions.replaceChildren(...items.map((d) => this.disruption(d)));
  }

  disruption(d) {
    const impact = d.impact ? `${d.impact.affected} affected, ${d.impact.kept_in_window} kept in window, ${d.impact.late} late, +${d.impact.extra_km.toFixed(1)} km` : "recovery being planned";
    const apply = d.mode === "live" && d.status === "ready"
      ? el("button", {
          type: "button",
          text: "Apply recovery",
          onclick: async () => {
            await api(`/v1/disruptions/${d.id}/apply`, { method: "POST" }).catch((error) => showError(this.disruptionError, error));
            await this.loadDisruptions();
          },
        })
      : null;
    return el("li", { dataset: { disruptionId: d.id } }, el("strong", { text: `${d.kind.replaceAll("_", " ")} (${d.mode})` }), ` ${d.status}, detected ${clock(d.timeline.detected_at)}: ${impact} `, apply);
  }
}
