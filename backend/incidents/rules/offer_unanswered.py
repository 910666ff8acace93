"""`offer_unanswered`: an offer of work still open (nobody accepted it) the threshold after it
was made. Clears when it is accepted, withdrawn or expires (expiry opens `offer_expired`)."""

from backend.incidents.rules.rule import MINUTES_MAX, Rule, hub_rule

THRESHOLD, SEVERITY = 20, "medium"

SQL = f"""
WITH {hub_rule(THRESHOLD, SEVERITY)}
SELECT 'offer:' || o.id AS subject, o.hub_id, o.route_id, NULL::uuid AS shipment_id,
       NULL::uuid AS driver_id, t.severity,
       o.created_at + make_interval(mins => t.threshold) AS occurred_at,
       jsonb_build_object(
           'offer_id', o.id, 'offered_at', o.created_at, 'expires_at', o.expires_at,
           'offered_to', (SELECT count(*) FROM offer_recipients x WHERE x.offer_id = o.id),
           'declined', (SELECT count(*) FROM offer_recipients x
                        WHERE x.offer_id = o.id AND x.response = 'declined')
       ) AS data
FROM offers o
JOIN hub_rule t ON t.hub_id = o.hub_id AND t.enabled
WHERE o.status = 'open'
  AND o.created_at < $1::timestamptz - make_interval(mins => t.threshold)
"""

RULE = Rule(
    kind="offer_unanswered",
    unit="minutes",
    minimum=1,
    maximum=MINUTES_MAX,
    default_threshold=THRESHOLD,
    default_severity=SEVERITY,
    sql=SQL,
)
