"""The SQL of `lastmile seed-history`: a synthetic history generated inside PostgreSQL, one
chunk of shipments per round trip (generate_series, no row crosses the wire).

Parameters are inlined by `render` (they are the seeder's own numbers, dates and hex tag,
never user text), which keeps PostgreSQL from guessing their types. Ids are md5 of a run tag
and a number, so a chunk can name its routes, drivers and hubs without
looking them up. Each shipment's fate is drawn from hashes of its number (deterministic):
4 % handed to a partner, 12 % a failed first attempt and a delivery the next day, 3 % redirected
to a pickup point, 10 % windows already over at arrival, 0.5 % an incident.
"""

HUB_PLACES = (
    ("Europe/Berlin", 13.40, 52.52),
    ("America/New_York", -74.00, 40.71),
    ("Asia/Tokyo", 139.69, 35.68),
    ("UTC", -0.12, 51.50),
)

NETWORK = """
INSERT INTO hubs (id, name, code, location, time_zone)
SELECT md5(:tag || 'h' || h)::uuid, 'History hub ' || h, 'HIST-' || :tag || '-' || h,
       ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography, p.zone
FROM generate_series(0, :hubs - 1) h
JOIN (SELECT ordinality - 1 AS i, zone, lon, lat
      FROM unnest(:zones, :lons, :lats)
           WITH ORDINALITY AS t(zone, lon, lat)) p ON p.i = h % :places;

INSERT INTO zones (id, name, hub_id, area)
SELECT md5(:tag || 'z' || h.code)::uuid, 'Zone of ' || h.name, h.id,
       ST_Buffer(h.location::geometry, 0.05, 'quad_segs=2')
FROM hubs h WHERE h.code LIKE 'HIST-' || :tag || '-%';

INSERT INTO users (id, email, password_hash, role)
SELECT md5(:tag || 'u' || k)::uuid, 'history-' || :tag || '-' || k || '@lastmile.local',
       '!seeded-no-sign-in', 'driver'
FROM generate_series(0, :drivers - 1) k;

INSERT INTO drivers (id, user_id, name, home_hub_id)
SELECT md5(:tag || 'd' || k)::uuid, md5(:tag || 'u' || k)::uuid, 'History driver ' || k,
       md5(:tag || 'h' || (k % :hubs))::uuid
FROM generate_series(0, :drivers - 1) k;

INSERT INTO routes (id, driver_id, hub_id, date, status)
SELECT md5(:tag || 'r' || k || '-' || d)::uuid, md5(:tag || 'd' || k)::uuid,
       md5(:tag || 'h' || (k % :hubs))::uuid, :first_day + d, 'completed'
FROM generate_series(0, :drivers - 1) k, generate_series(0, :days - 1) d;
"""

PLAN = """
CREATE TEMP TABLE history_plan ON COMMIT DROP AS
SELECT i, md5(:tag || 's' || i)::uuid AS id, k, d,
       md5(:tag || 'h' || (k % :hubs))::uuid AS hub_id,
       md5(:tag || 'd' || k)::uuid AS driver_id,
       md5(:tag || 'r' || k || '-' || d)::uuid AS route_id,
       seq, loaded, arrived, r1, r2,
       r1 < 40 AS partner, r1 >= 40 AND r1 < 160 AS failed, r1 >= 160 AND r1 < 190 AS redirected,
       make_interval(secs => 30 + r2 % 570) AS dwell
FROM (
    SELECT i, i % :drivers AS k, (i / :drivers) % :days AS d, i / (:drivers * :days) AS seq,
           (:first_day + (i / :drivers) % :days)::timestamp AT TIME ZONE 'UTC'
               + interval '7 hours' AS loaded,
           (:first_day + (i / :drivers) % :days)::timestamp AT TIME ZONE 'UTC'
               + interval '7 hours 30 minutes' + (i / (:drivers * :days)) * interval '6 minutes'
               AS arrived,
           (hashint8(i)::bigint + 2147483648) % 1000 AS r1,
           (hashint8(i + 7919)::bigint + 2147483648) % 1000 AS r2
    FROM generate_series(:start, :stop - 1) i
) drawn
"""

SHIPMENTS = """
INSERT INTO shipments (id, reference, hub_id, zone_id, tracking_number, tracking_token, status,
                       recipient, address, location, window_start, window_end, attempts,
                       delivered_at, event_count)
SELECT p.id, 'H-' || :tag || '-' || p.i, p.hub_id, md5(:tag || 'z' || 'HIST-' || :tag || '-' || (p.k % :hubs))::uuid,
       'H' || :tag || lpad(p.i::text, 9, '0'), md5(:tag || 't' || p.i) || md5(:tag || 'T' || p.i),
       'delivered', '{"name": "History recipient"}', '{"line1": "History street"}',
       ST_SetSRID(ST_MakePoint(ST_X(h.location::geometry) + (p.r1 - 500) * 0.00004,
                               ST_Y(h.location::geometry) + (p.r2 - 500) * 0.00003), 4326)::geography,
       CASE WHEN p.r2 < 100 THEN p.arrived - interval '3 hours' ELSE p.arrived - interval '1 hour' END,
       CASE WHEN p.r2 < 100 THEN p.arrived - interval '1 hour' ELSE p.arrived + interval '1 hour' END,
       CASE WHEN p.failed THEN 2 ELSE 1 END,
       CASE WHEN p.failed THEN p.arrived + interval '1 day' + p.dwell ELSE p.arrived + p.dwell END,
       0
FROM history_plan p JOIN hubs h ON h.id = p.hub_id;

INSERT INTO parcels (id, shipment_id, barcode, weight_kg)
SELECT md5(:tag || 'p' || i)::uuid, id, 'H' || :tag || lpad(i::text, 10, '0'), 1 + r1 % 9
FROM history_plan;

INSERT INTO stops (id, route_id, shipment_id, sequence, active)
SELECT md5(:tag || 'st' || i)::uuid, route_id, id, seq + 1, false
FROM history_plan WHERE NOT partner;
"""

EVENTS = """
INSERT INTO shipment_events (id, shipment_id, source, type, device_id, occurred_at, effective_at,
                             received_at, data, chain_seq)
SELECT md5(:tag || 'e' || p.i || '-' || v.n)::uuid, p.id, v.source, v.type,
       CASE WHEN v.source = 'device' THEN 'history-' || p.k END, v.at, v.at,
       coalesce(v.received, v.at + interval '20 seconds'), v.data,
       row_number() OVER (PARTITION BY p.id ORDER BY v.n)
FROM history_plan p CROSS JOIN LATERAL (VALUES
    (1, 'created', 'dispatch', p.loaded - interval '1 day', NULL::timestamptz, '{}'::jsonb, true),
    (2, 'assigned', 'dispatch', p.loaded - interval '12 hours', NULL,
        jsonb_build_object('route_id', p.route_id, 'driver_id', p.driver_id), true),
    (3, 'redirected_to_pickup_point', 'recipient', p.loaded - interval '2 hours', NULL, '{}',
        p.redirected),
    (4, 'scan_hub_in', 'device', p.loaded - interval '30 minutes', NULL, '{}', true),
    (5, 'unassigned', 'dispatch', p.loaded - interval '5 minutes', NULL,
        jsonb_build_object('route_id', p.route_id), p.partner),
    (6, 'handed_over', 'dispatch', p.loaded, NULL,
        jsonb_build_object('organization_id', md5(:tag || 'partner' || p.r2 % 3)::uuid), p.partner),
    (7, 'delivered', 'partner', p.arrived + interval '2 hours',
        p.arrived + interval '2 hours' + make_interval(secs => p.r2 * 3), '{}', p.partner),
    (8, 'scan_loaded', 'device', p.loaded, NULL, '{}', NOT p.partner),
    (9, 'arrived', 'device', p.arrived, NULL, '{}', NOT p.partner),
    (10, CASE WHEN p.failed THEN 'delivery_failed' ELSE 'delivered' END, 'device',
         p.arrived + p.dwell, NULL, '{}', NOT p.partner),
    (11, 'arrived', 'device', p.arrived + interval '1 day', NULL, '{}', p.failed),
    (12, 'delivered', 'device', p.arrived + interval '1 day' + p.dwell, NULL, '{}', p.failed)
) v(n, type, source, at, received, data, keep)
WHERE v.keep;

UPDATE shipments s SET event_count = c.n
FROM (SELECT shipment_id, count(*) AS n FROM shipment_events
      WHERE shipment_id IN (SELECT id FROM history_plan) GROUP BY shipment_id) c
WHERE s.id = c.shipment_id;

INSERT INTO incidents (id, kind, status, shipment_id, driver_id, data, occurred_at, created_at,
                       updated_at, resolved_at)
SELECT md5(:tag || 'i' || i)::uuid, 'custody_conflict',
       CASE WHEN r2 % 4 = 0 THEN 'open' ELSE 'resolved' END, id, driver_id, '{}', arrived,
       arrived, arrived,
       CASE WHEN r2 % 4 = 0 THEN NULL ELSE arrived + make_interval(secs => 600 + r2 * 20) END
FROM history_plan WHERE r1 % 200 = 199;
"""


def render(sql: str, values: dict[str, object]) -> list[str]:
    """The statements of `sql` with `:name` replaced by each value's SQL literal."""
    for name in sorted(values, key=len, reverse=True):
        sql = sql.replace(f":{name}", _literal(values[name]))
    return [statement.strip() for statement in sql.split(";\n") if statement.strip()]


def _literal(value: object) -> str:
    if isinstance(value, bool):
        raise TypeError("no booleans here")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        kind = "text" if isinstance(value[0], str) else "float8"
        return f"ARRAY[{', '.join(_literal(v) for v in value)}]::{kind}[]"
    text = str(value)  # a date or the hex tag
    if "'" in text:
        raise ValueError("no quotes in seeder literals")
    return f"'{text}'::date" if hasattr(value, "isoformat") else f"'{text}'"
