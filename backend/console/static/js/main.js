// The console's entry point: sign-in, the hub and day chosen, the screens and the live feed.

import { api, all, current, signIn, signOut } from "./api.js";
import { later, setTimeZone, showError, today } from "./dom.js";
import { explain, loadIncidents, refreshAges, renderIncidents, setChoices } from "./incidents.js";
import { loadKpis, renderKpis } from "./kpis.js";
import { LiveFeed } from "./live.js";
import { LiveMap, legend } from "./map.js";
import { PlanningScreen } from "./planning.js";
import { loadBoard, renderRoutes } from "./routes.js";

const $ = (id) => document.getElementById(id);
const state = { hubs: [], hubId: null, day: null, config: null, map: null, feed: null, planning: null };

function context() {
  return { day: state.day, hubId: state.hubId };
}

async function refreshBoard() {
  try {
    const routes = await loadBoard(context());
    showError($("routes-error"), null);
    renderRoutes($("routes"), routes);
    state.map.showRoutes(routes);
  } catch (error) {
    showError($("routes-error"), error);
  }
}

async function refreshKpis() {
  try {
    renderKpis($("kpis"), await loadKpis(api, context()));
    showError($("kpis-error"), null);
  } catch (error) {
    showError($("kpis-error"), error);
  }
}

async function refreshIncidents() {
  try {
    const items = await loadIncidents(api, { hubId: state.hubId, withAcknowledged: $("show-acknowledged").checked });
    showError($("incidents-error"), null);
    $("incident-count").textContent = `(${items.length})`;
    renderIncidents($("incidents"), items, act);
  } catch (error) {
    showError($("incidents-error"), explain(error));
  }
}

async function act(path, body) {
  try {
    await api(path, { method: "POST", body });
    showError($("incidents-error"), null);
  } catch (error) {
    showError($("incidents-error"), error);
  }
  await refreshIncidents();
}

async function refreshPositions() {
  const query = state.hubId ? `?hub_id=${encodeURIComponent(state.hubId)}` : "";
  const positions = await api(`/v1/tracking/positions${query}`);
  state.map.clearDrivers();
  for (const feature of positions.features) {
    const [lon, lat] = feature.geometry.coordinates;
    const p = feature.properties;
    state.map.setPosition(p.driver_id, lon, lat, { name: p.driver_name, at: p.at, stale: p.stale });
  }
}

async function refreshNetwork() {
  const zones = await all("/v1/zones", state.hubId ? { hub_id: state.hubId } : {});
  const hubs = state.hubId ? state.hubs.filter((h) => h.id === state.hubId) : state.hubs;
  state.map.showNetwork(hubs, zones);
}

// `refit`: frame the map on what is shown (a new hub); a reconnect keeps the dispatcher's view.
async function refreshAll(refit = false) {
  if (refit) state.map.fitted = false;
  await Promise.all([refreshNetwork(), refreshPositions(), refreshBoard(), refreshKpis(), refreshIncidents()]);
  state.map.fit();
  document.body.dataset.ready = "true";
}

const boardLater = later(() => Promise.all([refreshBoard(), refreshKpis()]));
const incidentsLater = later(refreshIncidents, 300);

function onMessage(message) {
  if (message.type === "driver.position") {
    const name = state.map.markers.has(message.driver_id) ? undefined : "";
    state.map.setPosition(message.driver_id, message.data.lon, message.data.lat, { name, at: message.data.fix_at });
  } else if (message.type === "shipment.status" || message.type === "shipment.eta" || message.type === "pod") {
    boardLater();
  } else if (message.type === "incident") {
    incidentsLater();
  }
}

function onLiveState(live) {
  const badge = $("live-state");
  badge.dataset.state = live;
  badge.textContent = `live: ${live}`;
}

function chooseHub(hubId) {
  state.hubId = hubId || null;
  const hub = state.hubs.find((h) => h.id === state.hubId);
  setTimeZone(hub ? hub.time_zone : "UTC");
  sessionStorage.setItem("lastmile.console.hub", state.hubId || "");
}

async function start() {
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("who").textContent = `signed in as ${current().role}`;
  state.hubs = await all("/v1/hubs");
  const stored = sessionStorage.getItem("lastmile.console.hub");
  const hubSelect = $("hub");
  hubSelect.replaceChildren(new Option("all hubs", ""), ...state.hubs.map((h) => new Option(`${h.name} (${h.time_zone})`, h.id)));
  hubSelect.value = state.hubs.some((h) => h.id === stored) ? stored : state.hubs.length === 1 ? state.hubs[0].id : "";
  chooseHub(hubSelect.value);
  state.day = today();
  $("day").value = state.day;
  state.map = new LiveMap($("map"), state.config);
  legend($("legend"));
  state.planning = new PlanningScreen(context);
  const [drivers, organizations] = await Promise.all([all("/v1/drivers").catch(() => []), all("/v1/organizations").catch(() => [])]);
  setChoices(drivers, organizations);
  // Subscribe before the first load: nothing that happens in between is missed.
  state.feed = new LiveFeed({ onMessage, onState: onLiveState, onReconnect: () => refreshAll(false) });
  state.feed.start();
  await refreshAll(true);
  setInterval(() => refreshAges($("incidents")), 30_000);
}

function wire() {
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await signIn(String(form.get("email")), String(form.get("password")));
      showError($("sign-in-error"), null);
      await start();
    } catch (error) {
      showError($("sign-in-error"), error);
    }
  });
  $("sign-out").addEventListener("click", () => signOut());
  window.addEventListener("console:signed-out", () => location.reload());
  $("hub").addEventListener("change", async (event) => {
    chooseHub(event.target.value);
    await refreshAll(true);
  });
  $("day").addEventListener("change", async (event) => {
    state.day = event.target.value || today();
    await Promise.all([refreshBoard(), refreshKpis()]);
  });
  $("show-acknowledged").addEventListener("change", refreshIncidents);
  for (const button of $("tabs").querySelectorAll("button")) {
    button.addEventListener("click", async () => {
      for (const other of $("tabs").querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
      $("operations").hidden = button.dataset.view !== "operations";
      $("planning").hidden = button.dataset.view !== "planning";
      if (button.dataset.view === "planning") await state.planning.show();
      else state.map.map.invalidateSize();
    });
  }
}

async function boot() {
  state.config = await fetch("/console/config.json").then((r) => r.json());
  wire();
  if (current()) {
    await start().catch(() => signOut());
  } else {
    $("sign-in").hidden = false;
  }
}

boot();
