"""`driver_silent`: a driver on a route in progress with work left whose last sign of life (the
newest GPS fix or the newest push from any of their devices) is older than the threshold.
Clears when a ping or a push arrives, or when the route has nothing left to do."""

from backend.incidents.rules.rule import MINUTES_MAX, Rule, hub_rule

THRESHOLD, SEVERITY = 15, "high"

SQL = f"""
WITH {hub_rule(THRESHOLD, SEVERITY)}
SELECT DISTINCT ON (r.driver_id)
       'driver:' || r.driver_id AS subject, r.hub_id, r.id AS route_id, NULL::uuid AS shipment_id,
       r.driver_id, t.severity,
       seen.last_at + make_interval(mins => t.threshold) AS occurred_at,
       jsonb_build_object(
           'last_seen_at', seen.last_at,
           'silent_minutes', floor(extract(epoch FROM $1::timestamptz - seen.last_at) / 60)::int
       ) AS data
FROM routes r
JOIN hub_rule t ON t.hub_id = r.hub_id AND t.enabled
CROSS JOIN LATERAL (
    SELECT coalesce(
        greatest(
            (SELECT l.at FROM latest_positions l WHERE l.driver_id = r.driver_id),
            (SELECT max(d.updated_at) FROM device_sync d WHERE d.driver_id = r.driver_id)
        ),
        r.updated_at
    ) AS last_at
) seen
WHERE r.status = 'in_progress'
  AND seen.last_at < $1::timestamptz - make_interval(mins => t.threshold)
  AND EXISTS (
      SELECT 1 FROM stops st JOIN shipments s ON s.id = st.shipment_id
      WHERE st.route_id = r.id AND st.active
        AND s.status IN ('created', 'at_hub', 'out_for_delivery')
  )
ORDER BY r.driver_id, r.date DESC, r.id
"""

RULE = Rule(
    kind="driver_silent",
    unit="minutes",
    minimum=1,
    maximum=MINUTES_MAX,
    default_threshold=THRESHOLD,
    default_severity=SEVERITY,
    sql=SQL,
)
