"""An offer as a sync pull entity (`entity: offer`): the open offers made to the driver that they
have not answered. Spliced into backend/sync/pull.py's entity list; `$1` is the driver, `$2` the
route statuses the other entities use (unused here, but typed so the statement prepares)."""

_UTC = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""

OFFERS_PULL_QUERY = f"""
    SELECT o.id, json_build_object(
        'status', o.status, 'hub_id', o.hub_id,
        'pickup', json_build_object('type', 'Point', 'coordinates',
            json_build_array(ST_X(o.anchor::geometry), ST_Y(o.anchor::geometry))),
        'stops', o.stops, 'parcels', o.parcels, 'weight_kg', o.weight_kg,
        'pay', json_build_object('amount', o.pay_amount, 'currency', o.pay_currency),
        'window_start', {_UTC.format("o.window_start")},
        'window_end', {_UTC.format("o.window_end")},
        'expires_at', {_UTC.format("o.expires_at")})::text AS data
    FROM offers o JOIN offer_recipients r ON r.offer_id = o.id
    WHERE r.driver_id = $1 AND r.response IS NULL AND o.status = 'open'
      AND o.expires_at > now() AND cardinality($2::text[]) >= 0 {{extra}}
"""
