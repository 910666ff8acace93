"""The SQL that rebuilds shipments' KPI facts from their events (one statement, set-based).

Events are taken in the fold's total order (shipments/state.py `fold_order`), so the facts agree
with the projection whatever order the events arrived in. Status, window and delivery time come
from the projection (itself the fold of the same events).
"""

from backend.kpis.definitions import ATTEMPT_TYPES, DIVERSION_TYPES, OUTCOME_TYPES

_UUID = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"


def _in(types: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{t}'" for t in types) + ")"


def _uuid(expr: str) -> str:
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
    FROM shipment_events e JOIN ids ON e.shipment_id = ids.id
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
           count(*) FILTER (WHERE type IN {ATTEMPTS}) AS attempts,
           (array_agg(type ORDER BY n) FILTER (WHERE type IN {ATTEMPTS}))[1] AS first_attempt,
           coalesce(bool_or(type IN {DIVERSIONS} OR (type = 'assigned' AND n > first_loaded)),
                    false) AS diverted,
           coalesce(array_agg(greatest(extract(epoch FROM received_at - occurred_at), 0)::real
                              ORDER BY n) FILTER (WHERE source = 'partner'), '{{}}')
               AS report_lags,
           (array_agg(data->>'organization_id' ORDER BY n DESC)
               FILTER (WHERE type = 'handed_over'))[1] AS partner_text,
           (array_agg(CASE WHEN type = 'assigned' THEN data->>'route_id' END ORDER BY n DESC)
               FILTER (WHERE type IN ('assigned', 'unassigned', 'handed_over')
                       AND n < coalesce(last_device_attempt, 2147483647)))[1] AS route_text,
           (array_agg(CASE WHEN type = 'assigned' THEN data->>'driver_id' END ORDER BY n DESC)
               FILTER (WHERE type IN ('assigned', 'unassigned', 'handed_over')
                       AND n < coalesce(last_device_attempt, 2147483647)))[1] AS driver_text,
           min(effective_at) FILTER (WHERE type = 'scan_loaded') AS loaded_at,
           max(effective_at) FILTER (WHERE type IN {ATTEMPTS}) AS last_attempt_at
    FROM (
        SELECT *, max(n) FILTER (WHERE type IN {ATTEMPTS} AND source = 'device')
                      OVER (PARTITION BY shipment_id) AS last_device_attempt,
                  min(n) FILTER (WHERE type = 'scan_loaded')
                      OVER (PARTITION BY shipment_id) AS first_loaded
        FROM ordered
    ) o
    GROUP BY shipment_id
),
facts AS (
    SELECT p.shipment_id, s.hub_id, s.zone_id,
           {_uuid("p.route_text")} AS route_id, {_uuid("p.driver_text")} AS driver_id,
           {_uuid("p.partner_text")} AS partner_id,
           (p.first_outcome_at AT TIME ZONE h.time_zone)::date AS day,
           (SELECT count(*) FROM parcels pa WHERE pa.shipment_id = p.shipment_id) AS parcels,
           p.attempts, CASE WHEN p.first_attempt IS NOT NULL
                            THEN p.first_attempt = 'delivered' END AS first_attempt_ok,
           s.status = 'delivered' AS delivered,
           CASE WHEN s.window_start IS NULL OR s.status = 'cancelled' THEN NULL
                ELSE s.status = 'delivered'
                     AND s.delivered_at BETWEEN s.window_start AND s.window_end END AS on_time,
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
    SELECT f.shipment_id, coalesce(ST_Distance(
               coalesce((SELECT ps.location FROM stops prev JOIN shipments ps
                                ON ps.id = prev.shipment_id
                         WHERE prev.route_id = st.route_id AND prev.sequence < st.sequence
                           AND prev.active = st.active
                         ORDER BY prev.sequence DESC LIMIT 1), h.location),
               f.location) / 1000.0, 0) AS km
    FROM facts f
    JOIN stops st ON st.route_id = f.route_id AND st.shipment_id = f.shipment_id
    JOIN routes r ON r.id = st.route_id
    JOIN hubs h ON h.id = r.hub_id
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
LEFT JOIN LATERAL (SELECT max(km) AS km FROM legs WHERE legs.shipment_id = f.shipment_id) l ON true
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
