// The live map. Leaflet (vendored, global `L`) draws everything as vector shapes, so the map
// is complete with no tile server: tiles are only a backdrop when LASTMILE_MAP_TILE_URL is set.

import { clock } from "./dom.js";

export const STOP_COLOURS = {
  created: "#9aa3ad",
  at_hub: "#6b7785",
  out_for_delivery: "#1f5fbf",
  delivered: "#2f9e5b",
  attempt_failed: "#c9372c",
  with_partner: "#8e44ad",
  returned: "#d08a1d",
  cancelled: "#1b1f24",
};
const ROUTE_COLOURS = ["#1f5fbf", "#d0611d", "#2f9e5b", "#8e44ad", "#b8860b", "#c2185b", "#00838f"];

export class LiveMap {
  constructor(element, config) {
    this.map = L.map(element, { preferCanvas: false, zoomSnap: 0.5 }).setView([0, 0], 2);
    if (config.tile_url) {
      L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 19 }).addTo(this.map);
    } else {
      this.map.attributionControl.setPrefix(false);
    }
    this.network = L.layerGroup().addTo(this.map);
    this.routes = L.layerGroup().addTo(this.map);
    this.drivers = L.layerGroup().addTo(this.map);
    this.markers = new Map();
    this.fitted = false;
  }

  showNetwork(hubs, zones) {
    this.network.clearLayers();
    for (const zone of zones) {
      L.geoJSON(zone.area, { style: { color: "#6b7785", weight: 1, fillOpacity: 0.06, dashArray: "4 3" } })
        .bindTooltip(zone.name)
        .addTo(this.network);
    }
    for (const hub of hubs) {
      const [lon, lat] = hub.location.coordinates;
      L.circleMarker([lat, lon], { radius: 9, color: "#1b1f24", weight: 3, fillColor: "#fff", fillOpacity: 1, className: "hub" })
        .bindTooltip(`${hub.name} (hub)`)
        .addTo(this.network);
    }
  }

  showRoutes(routes) {
    this.routes.clearLayers();
    routes.forEach((route, index) => {
      const colour = ROUTE_COLOURS[index % ROUTE_COLOURS.length];
      const points = route.stops.map((s) => [s.location.coordinates[1], s.location.coordinates[0]]);
      if (points.length > 1) L.polyline(points, { color: colour, weight: 3, opacity: 0.7 }).addTo(this.routes);
      for (const stop of route.stops) {
        const [lon, lat] = stop.location.coordinates;
        const marker = L.circleMarker([lat, lon], {
          radius: 5,
          color: "#fff",
          weight: 1,
          fillColor: STOP_COLOURS[stop.status] || "#9aa3ad",
          fillOpacity: 1,
          className: "stop",
        })
          .bindTooltip(`${route.driver_name} #${stop.sequence}: ${stop.tracking_number}, ${stop.status.replaceAll("_", " ")}, ETA ${clock(stop.eta)}`)
          .addTo(this.routes);
        marker.getElement().dataset.status = stop.status;
      }
    });
  }

  // The newest fix of a driver: moves its marker (or makes it).
  setPosition(driverId, lon, lat, { name = "", at = null, stale = false } = {}) {
    let marker = this.markers.get(driverId);
    name = name || (marker && marker.driverName) || "driver";
    const label = `${name}: last fix ${clock(at)}${stale ? " (stale)" : ""}`;
    if (!marker) {
      marker = L.circleMarker([lat, lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#d0611d", fillOpacity: 1, className: "driver" })
        .bindTooltip(label)
        .addTo(this.drivers);
      this.markers.set(driverId, marker);
      marker.getElement().dataset.driverId = driverId;
    } else {
      marker.setLatLng([lat, lon]).setTooltipContent(label);
    }
    marker.driverName = name;
    const node = marker.getElement();
    node.dataset.lon = lon.toFixed(5);
    node.dataset.lat = lat.toFixed(5);
    node.dataset.stale = String(Boolean(stale));
    marker.setStyle({ fillColor: stale ? "#9aa3ad" : "#d0611d" });
  }

  clearDrivers() {
    this.drivers.clearLayers();
    this.markers.clear();
  }

  fit() {
    if (this.fitted) return;
    const bounds = L.latLngBounds([]);
    for (const group of [this.network, this.routes, this.drivers]) {
      group.eachLayer((layer) => bounds.extend(layer.getBounds ? layer.getBounds() : layer.getLatLng()));
    }
    if (bounds.isValid()) {
      this.map.fitBounds(bounds.pad(0.1), { maxZoom: 16 });
      this.fitted = true;
    }
  }
}

export function legend(list) {
  list.replaceChildren();
  for (const [status, colour] of Object.entries(STOP_COLOURS)) {
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.style.backgroundColor = colour; // CSSOM, allowed by the CSP (no style attribute markup)
    const item = document.createElement("li");
    item.append(dot, status.replaceAll("_", " "));
    list.append(item);
  }
  const driver = document.createElement("li");
  const dot = document.createElement("span");
  dot.className = "dot";
  dot.style.backgroundColor = "#d0611d";
  driver.append(dot, "driver");
  list.append(driver);
}
