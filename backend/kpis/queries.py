"""The KPI figures per group for a range of hub-local days, read from the daily rollup
(`kpi_daily`) and the incidents. Each KPI's arithmetic is here and only here; docs/kpis.md
says the same in words."""

from backend.kpis.facts_sql import uuid_or_null

# Group key of a daily row (alias d) and of an incident (i, its hub h, its shipment's facts k).
DAILY_KEYS = {
    "day": "d.day",
    "hub": "d.hub_id",
    "zone": "d.zone_id",
    "route": "d.route_id",
    "driver": "d.driver_id",
    "partner": "d.partner_id",
}
INCIDENT_KEYS = {
    "day": "(i.created_at AT TIME ZONE h.time_zone)::date",
    "hub": "h.id",
    "zone": "coalesce(k.zone_id, s.zone_id)",
    "route": "k.route_id",
    "driver": "coalesce(i.driver_id, k.driver_id)",
    "partner": "k.partner_id",
}


def _percentiles(name: str, values: str, counts: str) -> str:
    """p50 and p90 per key from whole-second histograms, with percentile_cont's interpolation:
    rank h = p*(n-1) lies between the values at ranks floor(h) and ceil(h)."""
    return f"""
{name}_merged AS (
    SELECT d.k, v.s, sum(v.c)::float8 AS c
    FROM d, unnest(d.{values}, d.{counts}) v(s, c) GROUP BY d.k, v.s
),
{name}_cumulative AS (
    SELECT k, s, sum(c) OVER (PARTITION BY k ORDER BY s) AS upto,
           sum(c) OVER (PARTITION BY k) AS n
    FROM {name}_merged
),
{name} AS (
    SELECT coalesce(k::text, '') AS key,
        {_at(0.5)} AS p50,
        {_at(0.9)} AS p90
    FROM {name}_cumulative GROUP BY k
)"""


def _at(p: float) -> str:
    low = f"min(s) FILTER (WHERE upto > floor({p} * (n - 1)))"
    high = f"min(s) FILTER (WHERE upto > ceil({p} * (n - 1)))"
    fraction = f"(max({p} * (n - 1)) - floor(max({p} * (n - 1))))"
    return f"({low} + {fraction} * ({high} - {low}))::float8"


def kpi_query(group_by: str) -> str:
    """The statement for one `group_by` (a whitelisted name: never user text in the SQL)."""
    daily_key, incident_key = DAILY_KEYS[group_by], INCIDENT_KEYS[group_by]
    return f"""
WITH d AS (
    -- k: the group in its own type (a date or a uuid), cheap to sort in the histogram merge;
    -- key: its text, for the join with incidents.
    SELECT {daily_key} AS k, d.*
    FROM kpi_daily d
    WHERE d.day BETWEEN :from_day AND :to_day
      AND (CAST(:hub_id AS uuid) IS NULL OR d.hub_id = CAST(:hub_id AS uuid))
),
route_hours AS (
    -- A route's driver hours: its first load to its last attempt, shared by its shipments.
    SELECT route_id,
           coalesce(date_part('epoch', max(last_attempt_at) - min(loaded_at)) / 3600, 0)
               / sum(shipments) AS hours_each
    FROM d WHERE route_id IS NOT NULL GROUP BY route_id
),
main AS (
    SELECT coalesce(d.k::text, '') AS key, sum(d.shipments) AS shipments, sum(d.parcels) AS parcels,
           sum(d.on_time)::float8 / nullif(sum(d.with_window), 0) AS on_time_rate,
           sum(d.first_ok)::float8 / nullif(sum(d.attempted), 0) AS first_attempt_success,
           sum(d.parcel_attempts)::float8 / nullif(sum(d.attempted_parcels), 0)
               AS attempts_per_parcel,
           sum(d.diverted)::float8 / sum(d.shipments) AS diversion_frequency,
           (CAST(:per_km AS float8) * sum(d.leg_km)
            + CAST(:per_driver_hour AS float8) * sum(coalesce(r.hours_each, 0) * d.shipments)
            + CAST(:per_partner_parcel AS float8) * sum(d.partner_parcels))
               / nullif(sum(d.parcels), 0) AS cost_per_parcel
    FROM d LEFT JOIN route_hours r ON r.route_id = d.route_id
    GROUP BY d.k
),
{_percentiles("dwell", "dwell_values", "dwell_counts")},
{_percentiles("lag", "lag_values", "lag_counts")},
inc AS (
    SELECT coalesce(({incident_key})::text, '') AS key, count(*) AS opened,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM i.resolved_at - i.created_at))
               FILTER (WHERE i.resolved_at IS NOT NULL) AS resolve_p50
    FROM incidents i
    LEFT JOIN shipments s ON s.id = i.shipment_id
    LEFT JOIN drivers dr ON dr.id = i.driver_id
    LEFT JOIN kpi_shipment_facts k ON k.shipment_id = i.shipment_id
    JOIN hubs h ON h.id = coalesce({uuid_or_null("i.data->>'hub_id'")}, s.hub_id, dr.home_hub_id)
    WHERE i.created_at >= CAST(:from_day AS date) - 2 AND i.created_at < CAST(:to_day AS date) + 3
      AND (i.created_at AT TIME ZONE h.time_zone)::date BETWEEN :from_day AND :to_day
      AND (CAST(:hub_id AS uuid) IS NULL OR h.id = CAST(:hub_id AS uuid))
    GROUP BY 1
),
keys AS (SELECT key FROM main UNION SELECT key FROM inc)
SELECT nullif(keys.key, '') AS key, coalesce(m.shipments, 0)::int AS shipments,
       coalesce(m.parcels, 0)::int AS parcels, m.on_time_rate, m.first_attempt_success,
       m.attempts_per_parcel, m.diversion_frequency,
       dwell.p50 AS dwell_p50_seconds, dwell.p90 AS dwell_p90_seconds,
       lag.p50 AS partner_report_lag_p50_seconds, lag.p90 AS partner_report_lag_p90_seconds,
       m.cost_per_parcel::float8, coalesce(inc.opened, 0)::int AS incidents_opened,
       inc.resolve_p50 AS incident_resolve_p50_seconds
FROM keys
LEFT JOIN main m ON m.key = keys.key
LEFT JOIN dwell ON dwell.key = keys.key
LEFT JOIN lag ON lag.key = keys.key
LEFT JOIN inc ON inc.key = keys.key
ORDER BY keys.key
"""
