"""`repeated_failure`: a shipment still to be delivered whose failed attempts reached the
threshold (the second by default). Clears when the shipment is delivered, returned, cancelled
or handed to a partner. Also evaluated in the transaction of the status change
(`DetectionService.shipments_changed`), so it opens with the push that records the failure."""

from backend.incidents.rules.rule import Rule, hub_rule

THRESHOLD, SEVERITY = 2, "medium"

_SQL = f"""
WITH {hub_rule(THRESHOLD, SEVERITY)}
SELECT 'shipment:' || s.id AS subject, s.hub_id, st.route_id, s.id AS shipment_id,
       r.driver_id, t.severity, least(failed.last_at, $1::timestamptz) AS occurred_at,
       jsonb_build_object('failed_attempts', failed.n, 'last_failed_at', failed.last_at) AS data
FROM shipments s
JOIN hub_rule t ON t.hub_id = s.hub_id AND t.enabled
LEFT JOIN stops st ON st.shipment_id = s.id AND st.active
LEFT JOIN routes r ON r.id = st.route_id
CROSS JOIN LATERAL (
    SELECT count(*) AS n, max(e.effective_at) AS last_at FROM shipment_events e
    WHERE e.shipment_id = s.id AND e.type = 'delivery_failed'
) failed
WHERE s.status IN ('created', 'at_hub', 'out_for_delivery', 'attempt_failed')
  AND {{only}}
  -- The fold counts every ended attempt: a cheap bound before counting the failures.
  AND s.attempts >= t.threshold AND failed.n >= t.threshold
"""


# The round looks at every shipment; a status change at its own (`$3`), by their ids, so the
# plan is an index probe whatever the statement cache makes of it.
SQL = _SQL.format(only="true")
SQL_FOR_SHIPMENTS = _SQL.format(only="s.id = ANY($3::uuid[])")

RULE = Rule(
    kind="repeated_failure",
    unit="failed_attempts",
    minimum=2,
    maximum=10,
    default_threshold=THRESHOLD,
    default_severity=SEVERITY,
    sql=SQL,
    sql_for_shipments=SQL_FOR_SHIPMENTS,
)
