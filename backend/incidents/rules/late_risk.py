"""`late_risk`: a remaining stop whose ETA (backend/tracking/eta.py keeps `stops.eta` fresh)
is past the shipment's window end by more than the threshold. Clears when the ETA comes back
inside the margin, the shipment is done (its ETA is dropped) or the stop leaves the route."""

from backend.incidents.rules.rule import MINUTES_MAX, Rule, hub_rule

THRESHOLD, SEVERITY = 15, "high"

SQL = f"""
WITH {hub_rule(THRESHOLD, SEVERITY)}
SELECT 'shipment:' || s.id AS subject, r.hub_id, r.id AS route_id, s.id AS shipment_id,
       r.driver_id, t.severity, $1::timestamptz AS occurred_at,
       jsonb_build_object(
           'eta', st.eta, 'window_end', s.window_end, 'stop_id', st.id,
           'late_minutes', floor(extract(epoch FROM st.eta - s.window_end) / 60)::int
       ) AS data
FROM stops st
JOIN routes r ON r.id = st.route_id
JOIN shipments s ON s.id = st.shipment_id
JOIN hub_rule t ON t.hub_id = r.hub_id AND t.enabled
WHERE st.active AND st.eta IS NOT NULL AND s.window_end IS NOT NULL
  AND r.status IN ('published', 'in_progress')
  AND s.status IN ('created', 'at_hub', 'out_for_delivery')
  AND st.eta > s.window_end + make_interval(mins => t.threshold)
"""

RULE = Rule(
    kind="late_risk",
    unit="minutes",
    minimum=1,
    maximum=MINUTES_MAX,
    default_threshold=THRESHOLD,
    default_severity=SEVERITY,
    sql=SQL,
)
