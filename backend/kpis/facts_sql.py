"""The SQL that rebuilds shipments' KPI facts from their events (one statement, set-based).

Events are taken in the fold's total order (shipments/state.py `fold_order`), so the facts are
the same whatever order the events arrived in. Delivery follows the fold's rules: the first
`delivered` after the last `returned`/`redelivery` (later ones are repeated deliveries). Only the
window, zone, hub and parcels come from the shipment row (dispatch and recipients change the
window through events too, which mark the shipment for a rebuild).
"""

from backend.kpis.definitions import ATTEMPT_TYPES, DIVERSION_TYPES, OUTCOME_TYPES

_UUID = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"


def _in(types: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{t}'" for t in types) + ")"


def uuid_or_null(expr: str) -> str:
    """A text that may not be a uuid (event data is free-form) as uuid or NULL."""
    return f"CASE WHEN {expr} ~ {_UUID} THEN ({expr})::uuid END"


ATTEMPTS, OUTCOMES, DIVERSIONS = _in(ATTEMPT_TYPES), _in(OUTCOME_TYPES), _in(DIVERSION_TYPES)

REFRESH_FACTS = f"""
WITH ids AS (SELECT DISTINCT unnest(CAST(:ids AS uuid[])) AS id),
ordered AS (
    SELECT e.shipment_id, e.type, e.source, e.effective_at, e.occurred_at, e.received_at, e.data,
           row_number() OVER (
               PARTITION BY e.shipment_id
               ORDER BY e.type <> 'created', e.effective_at,
                        CASE e.source WHEN 'dispatch' THEN 0 WHEN 'recipient' THEN 1
                                      WHEN 'partner' THEN 2 ELSE 3 END,
                        coalesce(e.device_id, '') COLLATE "C", coalesce(e.seq, 0),
                        e.id::text COLLATE "C") AS n
    -- `= ANY` of the array, not a join with `ids`: the planner then probes the chain index
    -- per shipment instead of hashing the whole log.
    FROM shipment_events e WHERE e.shipment_id = ANY(CAST(:ids AS uuid[]))
),
grouped AS (
    -- g: attempts before this event, so an attempt and the arrivals leading to it share g.
    SELECT o.*, coalesce(count(*) FILTER (WHERE o.type IN {ATTEMPTS}) OVER (
               PARTITION BY o.shipment_id ORDER BY o.n
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS g
    FROM ordered o
),
dwells AS (
    SELECT shipment_id,
           array_agg(extract(epoch FROM attempt_at - arrived_at)::real ORDER BY g) AS seconds
    FROM (
        SELECT shipment_id, g,
               max(effective_at) FILTER (WHERE type = 'arrived') AS arrived_at,
               max(effective_at) FILTER (WHERE type IN {ATTEMPTS}) AS attempt_at
        FROM grouped GROUP BY shipment_id, g
    ) visits
    WHERE arrived_at IS NOT NULL AND attempt_at >= arrived_at
    GROUP BY shipment_id
),
per_shipment AS (
    SELECT shipment_id,
           min(effective_at) FILTER (WHERE type IN {OUTCOMES}) AS first_outcome_at,
           -- Attempts up to the delivery (failures scanned after it are anomalies of the fold).
           count(*) FILTER (WHERE type IN {ATTEMPTS}
                            AND n <= coalesce(first_delivered, 2147483647)) AS attempts,
           (array_agg(type ORDER BY n) FILTER (WHERE type IN {ATTEMPTS}))[1] AS first_attempt,
           -- Diverted: rerouted (put on a second route), redirected or handed over.
           coalesce(bool_or(type IN {DIVERSIONS}), false)
               OR count(DISTINCT data->>'route_id') FILTER (WHERE type = 'assigned') > 1
               AS diverted,
           coalesce(array_agg(greatest(extract(epoch FROM received_at - occurred_at), 0)::real
                              ORDER BY n) FILTER (WHERE source = 'partner'), '{{}}')
               AS report_lags,
           (array_agg(data->>'organization_id' ORDER BY n DESC)
               FILTER (WHERE type = 'handed_over'))[1] AS partner_text,
           -- Custody before the driver's last attempt (assigned: that route; unassigned or
           -- handed over: none); with no such event (dispatch recorded it after the scans),
           -- the latest assignment.
           coalesce(
               (array_agg(ARRAY[type, data->>'route_id', data->>'driver_id'] ORDER BY n DESC)
                   FILTER (WHERE type IN ('assigned', 'unassigned', 'handed_over')
                           AND n < coalesce(last_device_attempt, 2147483647)))[1:1],
               (array_agg(ARRAY[type, data->>'route_id', data->>'driver_id'] ORDER BY n DESC)
                   FILTER (WHERE type = 'assigned'))[1:1]) AS custody,
           min(effective_at) FILTER (WHERE type = 'delivered' AND n > reset) AS delivered_at,
           bool_or(type = 'cancelled') AS cancelled,
           min(effective_at) FILTER (WHERE type = 'scan_loaded') AS loaded_at,
           max(effective_at) FILTER (WHERE type IN {ATTEMPTS}) AS last_attempt_at
    FROM (
        SELECT *, max(n) FILTER (WHERE type IN {ATTEMPTS} AND source = 'device')
                      OVER (PARTITION BY shipment_id) AS last_device_attempt,
                  min(n) FILTER (WHERE type = 'delivered')
                      OVER (PARTITION BY shipment_id) AS first_delivered,
                  coalesce(max(n) FILTER (WHERE type IN ('returned', 'redelivery'))
                      OVER (PARTITION BY shipment_id), 0) AS reset
        FROM ordered
    ) o
    GROUP BY shipment_id
),
facts AS (
    SELECT p.shipment_id, s.hub_id, s.zone_id,
           CASE WHEN p.custody[1][1] = 'assigned' THEN {uuid_or_null("p.custody[1][2]")} END AS route_id,
           CASE WHEN p.custody[1][1] = 'assigned' THEN {uuid_or_null("p.custody[1][3]")} END
               AS driver_id,
           {uuid_or_null("p.partner_text")} AS partner_id,
           (p.first_outcome_at AT TIME ZONE h.time_zone)::date AS day,
           (SELECT count(*) FROM parcels pa WHERE pa.shipment_id = p.shipment_id) AS parcels,
           p.attempts, CASE WHEN p.first_attempt IS NOT NULL
                            THEN p.first_attempt = 'delivered' END AS first_attempt_ok,
           p.delivered_at IS NOT NULL AS delivered,
           CASE WHEN s.window_start IS NULL OR (p.cancelled AND p.delivered_at IS NULL) THEN NULL
                ELSE coalesce(p.delivered_at BETWEEN s.window_start AND s.window_end, false)
           END AS on_time,
           p.diverted, coalesce(d.seconds, '{{}}') AS dwell_seconds,
           p.report_lags AS report_lag_seconds,
           p.loaded_at, p.last_attempt_at, s.location
    FROM per_shipment p
    JOIN shipments s ON s.id = p.shipment_id
    JOIN hubs h ON h.id = s.hub_id
    LEFT JOIN dwells d ON d.shipment_id = p.shipment_id
    WHERE p.first_outcome_at IS NOT NULL
),
legs AS (
    -- The planned leg to this stop: from the stop before it on the route (the hub first).
    SELECT f.shipment_id, max(coalesce(ST_Distance(
               coalesce((SELECT ps.location FROM stops prev JOIN shipments ps
                                ON ps.id = prev.shipment_id
                         WHERE prev.route_id = st.route_id AND prev.sequence < st.sequence
                           AND prev.active = st.active
                         ORDER BY prev.sequence DESC LIMIT 1), h.location),
               f.location) / 1000.0, 0)) AS km
    FROM facts f
    JOIN stops st ON st.route_id = f.route_id AND st.shipment_id = f.shipment_id
    JOIN routes r ON r.id = st.route_id
    JOIN hubs h ON h.id = r.hub_id
    GROUP BY f.shipment_id
),
removed AS (
    DELETE FROM kpi_shipment_facts k USING ids
    WHERE k.shipment_id = ids.id AND NOT EXISTS (SELECT 1 FROM facts WHERE facts.shipment_id = ids.id)
)
INSERT INTO kpi_shipment_facts (
    shipment_id, hub_id, zone_id, route_id, driver_id, partner_id, day, parcels, attempts,
    first_attempt_ok, delivered, on_time, diverted, dwell_seconds, report_lag_seconds, leg_km,
    loaded_at, last_attempt_at)
SELECT f.shipment_id, f.hub_id, f.zone_id, f.route_id, f.driver_id, f.partner_id, f.day,
       f.parcels, f.attempts, f.first_attempt_ok, f.delivered, f.on_time, f.diverted,
       f.dwell_seconds, f.report_lag_seconds, coalesce(l.km, 0), f.loaded_at, f.last_attempt_at
FROM facts f
LEFT JOIN legs l ON l.shipment_id = f.shipment_id
ON CONFLICT (shipment_id) DO UPDATE SET
    hub_id = excluded.hub_id, zone_id = excluded.zone_id, route_id = excluded.route_id,
    driver_id = excluded.driver_id, partner_id = excluded.partner_id, day = excluded.day,
    parcels = excluded.parcels, attempts = excluded.attempts,
    first_attempt_ok = excluded.first_attempt_ok, delivered = excluded.delivered,
    on_time = excluded.on_time, diverted = excluded.diverted,
    dwell_seconds = excluded.dwell_seconds, report_lag_seconds = excluded.report_lag_seconds,
    leg_km = excluded.leg_km, loaded_at = excluded.loaded_at,
    last_attempt_at = excluded.last_attempt_at
"""
