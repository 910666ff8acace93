"""`long_dwell`: the driver arrived at a stop (an `arrived` event) and the device recorded
nothing else about that shipment for longer than the threshold. Clears with the device's next
event about it (delivered, failed, …) or when it leaves the route."""

from backend.incidents.rules.rule import MINUTES_MAX, Rule, hub_rule

THRESHOLD, SEVERITY = 20, "medium"

SQL = f"""
WITH {hub_rule(THRESHOLD, SEVERITY)}
SELECT 'shipment:' || s.id AS subject, r.hub_id, r.id AS route_id, s.id AS shipment_id,
       r.driver_id, t.severity,
       latest.effective_at + make_interval(mins => t.threshold) AS occurred_at,
       jsonb_build_object(
           'arrived_at', latest.effective_at, 'stop_id', st.id,
           'dwell_minutes',
           floor(extract(epoch FROM $1::timestamptz - latest.effective_at) / 60)::int
       ) AS data
FROM stops st
JOIN routes r ON r.id = st.route_id
JOIN shipments s ON s.id = st.shipment_id
JOIN hub_rule t ON t.hub_id = r.hub_id AND t.enabled
CROSS JOIN LATERAL (
    SELECT e.type, e.effective_at FROM shipment_events e
    WHERE e.shipment_id = s.id AND e.source = 'device'
    ORDER BY e.effective_at DESC, e.id DESC
    LIMIT 1
) latest
WHERE st.active AND r.status = 'in_progress' AND s.status = 'out_for_delivery'
  AND latest.type = 'arrived'
  AND latest.effective_at < $1::timestamptz - make_interval(mins => t.threshold)
"""

RULE = Rule(
    kind="long_dwell",
    unit="minutes",
    minimum=1,
    maximum=MINUTES_MAX,
    default_threshold=THRESHOLD,
    default_severity=SEVERITY,
    sql=SQL,
)
