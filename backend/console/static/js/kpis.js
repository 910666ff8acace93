// KPI tiles: the day's figure, and a 14-day trend drawn as inline SVG against the hub's target.

import { addDays, el, svg } from "./dom.js";

const DAYS = 14;
const percent = (v) => `${(v * 100).toFixed(1)} %`;
export const KPIS = [
  { key: "shipments", label: "Shipments with an outcome", format: (v) => String(v) },
  { key: "on_time_rate", label: "On time", format: percent },
  { key: "first_attempt_success", label: "First-attempt success", format: percent },
  { key: "attempts_per_parcel", label: "Attempts per parcel", format: (v) => v.toFixed(2) },
  { key: "dwell_p50_seconds", label: "Dwell at a stop (median)", format: (v) => `${Math.round(v / 6) / 10} min` },
  { key: "cost_per_parcel", label: "Cost per parcel", format: (v) => v.toFixed(2) },
  { key: "diversion_frequency", label: "Diverted", format: percent },
  { key: "incidents_opened", label: "Incidents opened", format: (v) => String(v) },
];

export async function loadKpis(api, { day, hubId }) {
  const from = addDays(day, -(DAYS - 1));
  const query = new URLSearchParams({ from, to: day, group_by: "day" });
  if (hubId) query.set("hub_id", hubId);
  const targetsQuery = hubId ? `?hub_id=${encodeURIComponent(hubId)}` : "";
  const [report, targets] = await Promise.all([api(`/v1/kpis?${query}`), api(`/v1/kpis/targets${targetsQuery}`)]);
  const byDay = new Map(report.rows.map((row) => [row.key, row]));
  const days = Array.from({ length: DAYS }, (_, i) => addDays(from, i));
  const bounds = new Map(hubId ? targets.items.map((t) => [t.kpi, t]) : []);
  return { day, days, byDay, bounds, currency: report.cost_model ? report.cost_model.currency : "" };
}

export function renderKpis(container, data) {
  container.replaceChildren(
    ...KPIS.map((kpi) => {
      const row = data.byDay.get(data.day);
      const value = row ? row[kpi.key] : null;
      const target = data.bounds.get(kpi.key);
      const off = value !== null && target && ((target.min !== null && value < target.min) || (target.max !== null && value > target.max));
      const series = data.days.map((d) => (data.byDay.has(d) ? data.byDay.get(d)[kpi.key] : null));
      const unit = kpi.key === "cost_per_parcel" && data.currency ? ` ${data.currency}` : "";
      return el(
        "div",
        { class: "tile", dataset: { kpi: kpi.key, offTarget: String(Boolean(off)) } },
        el("div", { class: "muted", text: kpi.label }),
        el("div", { class: "value", text: value === null || value === undefined ? "–" : kpi.format(value) + unit }),
        el("div", { class: "muted", text: targetText(kpi, target) }),
        trend(series, target, kpi)
      );
    })
  );
}

function targetText(kpi, target) {
  if (!target) return "no target";
  const parts = [];
  if (target.min !== null) parts.push(`≥ ${kpi.format(target.min)}`);
  if (target.max !== null) parts.push(`≤ ${kpi.format(target.max)}`);
  return `target ${parts.join(" and ")}`;
}

// A polyline of the days with a value, dashed lines at the target's bounds.
function trend(series, target, kpi) {
  const width = 140;
  const height = 40;
  const values = series.filter((v) => v !== null && v !== undefined);
  const limits = target ? [target.min, target.max].filter((v) => v !== null) : [];
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${kpi.label}, last ${series.length} days` });
  if (!values.length && !limits.length) return chart;
  let low = Math.min(...values, ...limits);
  let high = Math.max(...values, ...limits);
  if (low === high) {
    low -= 1;
    high += 1;
  }
  const x = (i) => 4 + (i * (width - 8)) / Math.max(1, series.length - 1);
  const y = (v) => height - 4 - ((v - low) * (height - 8)) / (high - low);
  for (const bound of limits) {
    chart.append(svg("line", { x1: 0, x2: width, y1: y(bound), y2: y(bound), stroke: "#c9372c", "stroke-dasharray": "3 3", "stroke-width": 1 }));
  }
  const points = series.map((v, i) => (v === null || v === undefined ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
  chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#1f5fbf", "stroke-width": 2 }));
  series.forEach((v, i) => {
    if (v !== null && v !== undefined) chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2, fill: "#1f5fbf" }));
  });
  return chart;
}
