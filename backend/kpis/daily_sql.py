"""The per-day rollup of KPI facts (`kpi_daily`), rebuilt for the groups a change touched.

A group is (day, hub, zone, route, driver, partner); its rows are deleted and summed again
from its facts, so the rollup is always the exact sum of the facts, late events included.
Within a statement, groups are matched by their text form (`gk`: a missing zone or partner is
an empty field), which hashes where `IS NOT DISTINCT FROM` would not.
"""

GROUP_COLUMNS = ("day", "hub_id", "zone_id", "route_id", "driver_id", "partner_id")


def group_key(alias: str) -> str:
    return "(" + ", ".join(f"{alias}.{c}" for c in GROUP_COLUMNS) + ")::text"


_COLUMNS = ", ".join(GROUP_COLUMNS)
_F_COLUMNS = ", ".join(f"f.{c}" for c in GROUP_COLUMNS)


def _histogram(column: str) -> str:
    """Whole seconds of the facts' `column` arrays per group: (values ascending, counts)."""
    return f"""
    SELECT gk, array_agg(v ORDER BY v) AS vals, array_agg(c ORDER BY v) AS cnts
    FROM (SELECT f.gk, round(x)::int AS v, count(*)::int AS c
          FROM f, unnest(f.{column}) x GROUP BY f.gk, 2) h
    GROUP BY gk"""


def rollup(facts: str) -> str:
    """INSERT the daily rows of the facts `facts` selects (rows of kpi_shipment_facts)."""
    return f"""
WITH f AS (
    SELECT k.*, {group_key("k")} AS gk FROM ({facts}) k
),
sums AS (
    SELECT gk, {_F_COLUMNS},
           count(*) AS shipments, sum(f.parcels) AS parcels,
           count(f.on_time) AS with_window, count(*) FILTER (WHERE f.on_time) AS on_time,
           count(f.first_attempt_ok) AS attempted,
           count(*) FILTER (WHERE f.first_attempt_ok) AS first_ok,
           coalesce(sum(f.parcels) FILTER (WHERE f.attempts > 0), 0) AS attempted_parcels,
           sum(f.attempts * f.parcels) AS parcel_attempts,
           count(*) FILTER (WHERE f.diverted) AS diverted,
           coalesce(sum(f.parcels) FILTER (WHERE f.partner_id IS NOT NULL), 0)
               AS partner_parcels,
           sum(f.leg_km) AS leg_km, min(f.loaded_at) AS loaded_at,
           max(f.last_attempt_at) AS last_attempt_at
    FROM f GROUP BY gk, {_F_COLUMNS}
),
dwell AS ({_histogram("dwell_seconds")}),
lag AS ({_histogram("report_lag_seconds")})
INSERT INTO kpi_daily ({_COLUMNS}, shipments, parcels, with_window, on_time, attempted, first_ok,
                       attempted_parcels, parcel_attempts, diverted, partner_parcels, leg_km,
                       loaded_at, last_attempt_at, dwell_values, dwell_counts, lag_values,
                       lag_counts)
SELECT {", ".join("s." + c for c in GROUP_COLUMNS)}, s.shipments, s.parcels, s.with_window,
       s.on_time, s.attempted, s.first_ok, s.attempted_parcels, s.parcel_attempts, s.diverted,
       s.partner_parcels, s.leg_km, s.loaded_at, s.last_attempt_at,
       coalesce(d.vals, '{{}}'), coalesce(d.cnts, '{{}}'),
       coalesce(l.vals, '{{}}'), coalesce(l.cnts, '{{}}')
FROM sums s LEFT JOIN dwell d ON d.gk = s.gk LEFT JOIN lag l ON l.gk = s.gk
"""


# A change is rolled up per route-day: every group of the (day, hub, route) of a changed fact,
# before and after its rebuild (a late event can move a shipment to another day or route), is
# deleted and summed again. Shipments on no route are one unit per (day, hub).
TOUCHED_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS kpi_touched (day date, hub_id uuid, route_id uuid)
ON COMMIT DELETE ROWS
"""
TOUCH = """
INSERT INTO kpi_touched
SELECT DISTINCT day, hub_id, route_id FROM kpi_shipment_facts
WHERE shipment_id = ANY(CAST(:ids AS uuid[]))
"""
DELETE_TOUCHED = """
DELETE FROM kpi_daily d
USING (SELECT DISTINCT day, hub_id, route_id FROM kpi_touched) t
WHERE d.day = t.day AND d.hub_id = t.hub_id AND d.route_id IS NOT DISTINCT FROM t.route_id
"""
ROLLUP_TOUCHED = rollup("""
    SELECT k.* FROM kpi_shipment_facts k
    JOIN (SELECT DISTINCT day, hub_id, route_id FROM kpi_touched WHERE route_id IS NOT NULL) t
      ON k.day = t.day AND k.hub_id = t.hub_id AND k.route_id = t.route_id
    UNION ALL
    SELECT k.* FROM kpi_shipment_facts k
    JOIN (SELECT DISTINCT day, hub_id FROM kpi_touched WHERE route_id IS NULL) t
      ON k.day = t.day AND k.hub_id = t.hub_id
    WHERE k.route_id IS NULL""")
CLEAR_TOUCHED = "DELETE FROM kpi_touched"
