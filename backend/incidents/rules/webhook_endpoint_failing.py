"""`webhook_endpoint_failing`: an enabled webhook endpoint whose deliveries have been failing
(`failing_since`, kept by the webhook workers) for longer than the threshold. Endpoints belong
to no hub: the default setting applies. Clears on the endpoint's next success, or when it is
disabled (that opens `webhook_endpoint_disabled`)."""

from backend.incidents.rules.rule import MINUTES_MAX, Rule, default_rule

THRESHOLD, SEVERITY = 60, "medium"

SQL = f"""
WITH {default_rule(THRESHOLD, SEVERITY)}
SELECT 'endpoint:' || e.id AS subject, NULL::uuid AS hub_id, NULL::uuid AS route_id,
       NULL::uuid AS shipment_id, NULL::uuid AS driver_id, t.severity,
       e.failing_since + make_interval(mins => t.threshold) AS occurred_at,
       jsonb_build_object(
           'endpoint_id', e.id, 'organization_id', e.organization_id, 'url', e.url,
           'failing_since', e.failing_since
       ) AS data
FROM webhook_endpoints e
CROSS JOIN default_rule t
WHERE t.enabled AND e.enabled AND e.failing_since IS NOT NULL
  AND e.failing_since < $1::timestamptz - make_interval(mins => t.threshold)
"""

RULE = Rule(
    kind="webhook_endpoint_failing",
    unit="minutes",
    minimum=1,
    maximum=MINUTES_MAX,
    default_threshold=THRESHOLD,
    default_severity=SEVERITY,
    sql=SQL,
)
