"""The aggregate of KPI facts (and incidents) per group, for a range of hub-local days.

Each KPI's SQL is here and only here; docs/kpis.md says the same in words.
"""

from backend.kpis.facts_sql import _uuid

# Group key of a shipment's facts (alias f) and of an incident (i, its hub h, its facts k).
FACT_KEYS = {
    "day": "f.day",
    "hub": "f.hub_id",
    "zone": "f.zone_id",
    "route": "f.route_id",
    "driver": "f.driver_id",
    "partner": "f.partner_id",
}
INCIDENT_KEYS = {
    "day": "(i.created_at AT TIME ZONE h.time_zone)::date",
    "hub": "h.id",
    "zone": "coalesce(k.zone_id, s.zone_id)",
    "route": "k.route_id",
    "driver": "coalesce(i.driver_id, k.driver_id)",
    "partner": "k.partner_id",
}


def kpi_query(group_by: str) -> str:
    """The statement for one `group_by` (a whitelisted name: never user text in the SQL)."""
    fact_key, incident_key = FACT_KEYS[group_by], INCIDENT_KEYS[group_by]
    return f"""
WITH f AS (
    SELECT coalesce(({fact_key})::text, '') AS key, f.*
    FROM kpi_shipment_facts f
    WHERE f.day BETWEEN :from_day AND :to_day
      AND (CAST(:hub_id AS uuid) IS NULL OR f.hub_id = CAST(:hub_id AS uuid))
),
route_hours AS (
    -- A route's driver hours: its first load to its last attempt, shared by its shipments.
    SELECT route_id,
           coalesce(extract(epoch FROM max(last_attempt_at) - min(loaded_at)) / 3600.0, 0)
               / count(*) AS hours_each
    FROM f WHERE route_id IS NOT NULL GROUP BY route_id
),
main AS (
    SELECT f.key, count(*) AS shipments, sum(f.parcels) AS parcels,
           avg(f.on_time::int) AS on_time_rate,
           avg(f.first_attempt_ok::int) AS first_attempt_success,
           sum(f.attempts * f.parcels)::float8
               / nullif(sum(f.parcels) FILTER (WHERE f.attempts > 0), 0) AS attempts_per_parcel,
           avg(f.diverted::int) AS diversion_frequency,
           sum(CAST(:per_km AS float8) * f.leg_km
               + CAST(:per_driver_hour AS float8) * coalesce(r.hours_each, 0)
               + CASE WHEN f.partner_id IS NOT NULL
                      THEN CAST(:per_partner_parcel AS float8) * f.parcels ELSE 0 END) / nullif(sum(f.parcels), 0) AS cost_per_parcel
    FROM f LEFT JOIN route_hours r ON r.route_id = f.route_id
    GROUP BY f.key
),
dwell AS (
    SELECT f.key, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY d) AS p
    FROM f, unnest(f.dwell_seconds) d GROUP BY f.key
),
lag AS (
    SELECT f.key, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY d) AS p
    FROM f, unnest(f.report_lag_seconds) d GROUP BY f.key
),
inc AS (
    SELECT coalesce(({incident_key})::text, '') AS key, count(*) AS opened,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM i.resolved_at - i.created_at))
               FILTER (WHERE i.resolved_at IS NOT NULL) AS resolve_p50
    FROM incidents i
    LEFT JOIN shipments s ON s.id = i.shipment_id
    LEFT JOIN drivers dr ON dr.id = i.driver_id
    LEFT JOIN kpi_shipment_facts k ON k.shipment_id = i.shipment_id
    JOIN hubs h ON h.id = coalesce({_uuid("i.data->>'hub_id'")}, s.hub_id, dr.home_hub_id)
    WHERE i.created_at >= CAST(:from_day AS date) - 2 AND i.created_at < CAST(:to_day AS date) + 3
      AND (i.created_at AT TIME ZONE h.time_zone)::date BETWEEN :from_day AND :to_day
      AND (CAST(:hub_id AS uuid) IS NULL OR h.id = CAST(:hub_id AS uuid))
    GROUP BY 1
),
keys AS (SELECT key FROM main UNION SELECT key FROM inc)
SELECT nullif(keys.key, '') AS key, coalesce(m.shipments, 0) AS shipments,
       coalesce(m.parcels, 0)::int AS parcels, m.on_time_rate::float8,
       m.first_attempt_success::float8, m.attempts_per_parcel::float8,
       m.diversion_frequency::float8,
       dwell.p[1] AS dwell_p50_seconds, dwell.p[2] AS dwell_p90_seconds,
       lag.p[1] AS partner_report_lag_p50_seconds, lag.p[2] AS partner_report_lag_p90_seconds,
       m.cost_per_parcel::float8, coalesce(inc.opened, 0)::int AS incidents_opened,
       inc.resolve_p50 AS incident_resolve_p50_seconds
FROM keys
LEFT JOIN main m ON m.key = keys.key
LEFT JOIN dwell ON dwell.key = keys.key
LEFT JOIN lag ON lag.key = keys.key
LEFT JOIN inc ON inc.key = keys.key
ORDER BY keys.key
"""
