"""`route_not_started`: a published route still not started the threshold after its planned
start (the route's day at its driver's shift start, `driver_planning`, else the default
shift's; shifts are UTC like planning's). Clears when the route starts or is cancelled, or
goes back to draft."""

from backend.incidents.rules.rule import MINUTES_MAX, Context, Rule, hub_rule

THRESHOLD, SEVERITY = 30, "high"

SQL = f"""
WITH {hub_rule(THRESHOLD, SEVERITY)}
SELECT 'route:' || r.id AS subject, r.hub_id, r.id AS route_id, NULL::uuid AS shipment_id,
       r.driver_id, t.severity,
       planned.start_at + make_interval(mins => t.threshold) AS occurred_at,
       jsonb_build_object(
           'planned_start', planned.start_at,
           'late_minutes', floor(extract(epoch FROM $1::timestamptz - planned.start_at) / 60)::int
       ) AS data
FROM routes r
JOIN hub_rule t ON t.hub_id = r.hub_id AND t.enabled
LEFT JOIN driver_planning dp ON dp.driver_id = r.driver_id
CROSS JOIN LATERAL (
    SELECT (r.date + coalesce(dp.shift_start, $3::time)) AT TIME ZONE 'UTC' AS start_at
) planned
WHERE r.status = 'published'
  AND planned.start_at < $1::timestamptz - make_interval(mins => t.threshold)
"""


def _shift_start(context: Context) -> tuple[object, ...]:
    return (context.default_shift_start,)


RULE = Rule(
    kind="route_not_started",
    unit="minutes",
    minimum=1,
    maximum=MINUTES_MAX,
    default_threshold=THRESHOLD,
    default_severity=SEVERITY,
    sql=SQL,
    arguments=_shift_start,
)
