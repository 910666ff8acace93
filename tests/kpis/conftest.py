"""The fixed history of tests/kpis (times in UTC; the hub is in New York, UTC-5 in November):

| shipment | route / driver | window (UTC)        | what happens (UTC)                                    |
|---|---|---|---|
| s1 | r1 / d1 | 20th 15:00-17:00 | loaded 13:00, arrived 15:30, delivered 15:32            |
| s2 | r1 / d1 | 20th 15:00-17:00 | loaded 13:00, arrived 18:00, failed 18:05; arrived 19:00, delivered 19:01 |
| s3 | r2 / d2 | none             | loaded 20:00, arrived 21st 03:20, delivered 03:30 (22:30 on the 20th in New York) |
| s4 | partner | 20th 14:00-22:00 | handed over 14:00; the partner reports delivered at 20:00, ten minutes later |
| s5 | r2 / d2 | none             | loaded 21st 13:00, arrived 15:00, delivered 15:05 (a late failure comes later) |
| s6 | r1 / d1 | 20th 15:00-17:00 | redirected to a pickup point 12:00, loaded 13:00, arrived 16:00, delivered 16:00:30 |

Incidents: one about s1 opened the 20th 15:00 and resolved an hour later, one about s3 opened the
21st 02:00 (the 20th, 21:00 in New York), still open.
"""

from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.factories import Api
from tests.kpis.support import at, delivery, log, window

PARTNER = "0190a000-0000-7000-8000-00000000000a"
S_WINDOW = window("2026-11-20T15:00:00Z", "2026-11-20T17:00:00Z")


@dataclass
class History:
    hub: dict[str, Any]
    shipments: dict[str, str]
    drivers: dict[str, str]
    routes: dict[str, str]


@pytest.fixture
async def history(api: Api, db: asyncpg.Pool) -> History:
    hub = await api.hub(time_zone="America/New_York")
    await api.zone(hub["id"])
    d1, d2 = await api.driver(hub["id"]), await api.driver(hub["id"])
    lat = 52.50
    windows = {
        "s1": S_WINDOW,
        "s2": S_WINDOW,
        "s4": window("2026-11-20T14:00:00Z", "2026-11-20T22:00:00Z"),
        "s6": S_WINDOW,
    }
    shipments = {}
    for name in ("s1", "s2", "s3", "s4", "s5", "s6"):
        lat += 0.001
        extra = {"window": windows[name]} if name in windows else {}
        shipments[name] = (await api.shipment(hub["id"], lat=lat, **extra))["id"]
    s = shipments
    r1 = await api.route(d1["id"], hub["id"], [s["s1"], s["s2"], s["s6"]], date="2026-11-20")
    r2 = await api.route(d2["id"], hub["id"], [s["s3"], s["s5"]], date="2026-11-20")

    for name in ("s1", "s2", "s6"):
        await log(db, s[name], "scan_loaded", "2026-11-20T13:00:00Z")
    await delivery(db, s["s1"], "2026-11-20T15:30:00Z", "2026-11-20T15:32:00Z")
    await delivery(db, s["s2"], "2026-11-20T18:00:00Z", "2026-11-20T18:05:00Z", ok=False)
    await delivery(db, s["s2"], "2026-11-20T19:00:00Z", "2026-11-20T19:01:00Z")
    await log(db, s["s3"], "scan_loaded", "2026-11-20T20:00:00Z")
    await delivery(db, s["s3"], "2026-11-21T03:20:00Z", "2026-11-21T03:30:00Z")
    await log(
        db,
        s["s4"],
        "handed_over",
        "2026-11-20T14:00:00Z",
        source="dispatch",
        data={"organization_id": PARTNER},
    )
    await log(
        db,
        s["s4"],
        "delivered",
        "2026-11-20T20:00:00Z",
        source="partner",
        received="2026-11-20T20:10:00Z",
    )
    await log(db, s["s5"], "scan_loaded", "2026-11-21T13:00:00Z")
    await delivery(db, s["s5"], "2026-11-21T15:00:00Z", "2026-11-21T15:05:00Z")
    await log(db, s["s6"], "redirected_to_pickup_point", "2026-11-20T12:00:00Z", source="recipient")
    await log(db, s["s6"], "scan_loaded", "2026-11-20T13:00:00Z")
    await delivery(db, s["s6"], "2026-11-20T16:00:00Z", "2026-11-20T16:00:30Z")

    await db.execute(
        """
        INSERT INTO incidents (id, kind, status, shipment_id, data, occurred_at, created_at,
                               updated_at, resolved_at)
        VALUES (gen_random_uuid(), 'custody_conflict', 'resolved', $1, '{}', $2, $2, $3, $3),
               (gen_random_uuid(), 'custody_conflict', 'open', $4, '{}', $5, $5, $5, NULL)
        """,
        s["s1"],
        at("2026-11-20T15:00:00Z"),
        at("2026-11-20T16:00:00Z"),
        s["s3"],
        at("2026-11-21T02:00:00Z"),
    )
    return History(
        hub, shipments, {"d1": d1["id"], "d2": d2["id"]}, {"r1": r1["id"], "r2": r2["id"]}
    )
