"""`scripts/bench planning` (second part): re-planning after a breakdown, end to end.

A bench database gets a hub, 20 drivers on published routes of 25 open stops each (500 stops)
and a spare driver on standby. The API runs under uvicorn with its embedded worker. Timed: from
`POST /v1/disruptions` (a breakdown of one driver) until `GET /v1/disruptions/{id}` says the
recovery is ready, then the dispatcher's apply. The hub's recovery time limit is the default
(5 s of search); the rest is detection, building the problem, matrices and the answer.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from backend.bench.server import ADMIN_EMAIL, ADMIN_PASSWORD, fresh_database, running_server
from backend.bench.table import machine

DRIVERS, STOPS, TARGET_S = 20, 25, 10.0
CENTER = (13.40, 52.50)


def run_recovery(database_url: str, say: Callable[[str], None], runs: int = 3) -> str:
    asyncio.run(fresh_database(database_url))
    with (
        running_server(database_url, workers=1, pool_size=10) as server,
        httpx.Client(base_url=server.base_url, timeout=120) as http,
    ):
        token = _token(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        http.headers["authorization"] = f"Bearer {token}"
        rows = []
        for n in range(runs):
            drivers = _seed(http, n, say)
            rows.append(_measure(http, drivers[0], say))
    return _table(rows)


def _token(http: httpx.Client, email: str, password: str) -> str:
    response = http.post("/v1/auth/token", json={"email": email, "password": password})
    response.raise_for_status()
    return response.json()["access_token"]


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json()


def _seed(http: httpx.Client, n: int, say: Callable[[str], None]) -> list[str]:
    say(f"seeding run {n + 1}: {DRIVERS} drivers x {STOPS} stops and a spare …")
    rng = random.Random(n)
    point = {"type": "Point", "coordinates": list(CENTER)}
    hub = _ok(
        http.post("/v1/hubs", json={"name": f"Bench {n}", "code": f"BENCH{n}", "location": point})
    )
    half = 0.06
    ring = [
        [CENTER[0] + dx * half, CENTER[1] + dy * half]
        for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))
    ]
    _ok(
        http.post(
            "/v1/zones",
            json={
                "name": f"Bench {n}",
                "hub_id": hub["id"],
                "area": {"type": "Polygon", "coordinates": [ring]},
            },
        )
    )
    shift = {"shift_start": "00:00:00", "shift_end": "23:59:00"}
    drivers = []
    for d in range(DRIVERS + 1):
        body = {
            "name": f"Bench driver {n}-{d}",
            "email": f"bench{n}-{d}@bench.lastmile",
            "password": "bench-driver-password",
            "home_hub_id": hub["id"],
            "vehicle": {"kind": "van", "capacity_parcels": 200},
        }
        driver = _ok(http.post("/v1/drivers", json=body))
        _ok(http.put(f"/v1/drivers/{driver['id']}/planning", json=shift))
        drivers.append(driver["id"])
    items = [
        {
            "hub_id": hub["id"],
            "recipient": {"name": f"R{i}", "phone": "+49 30 1234567"},
            "address": {
                "line1": f"Street {i}",
                "city": "Berlin",
                "postal_code": "10115",
                "country": "DE",
            },
            "location": {
                "type": "Point",
                "coordinates": [
                    CENTER[0] + rng.uniform(-0.05, 0.05),
                    CENTER[1] + rng.uniform(-0.03, 0.03),
                ],
            },
            "parcels": [{"barcode": f"B{n}-{i:06d}", "weight_kg": 2.0}],
        }
        for i in range(DRIVERS * STOPS)
    ]
    created = _ok(http.post("/v1/shipments/bulk", json={"shipments": items}))["created"]
    ids = [c["id"] for c in created]
    today = datetime.now(UTC).date().isoformat()
    for d, driver in enumerate(drivers[:DRIVERS]):
        stops = [{"shipment_id": s} for s in ids[d * STOPS : (d + 1) * STOPS]]
        route = _ok(
            http.post(
                "/v1/routes",
                json={"driver_id": driver, "hub_id": hub["id"], "date": today, "stops": stops},
            )
        )
        _ok(http.post(f"/v1/routes/{route['id']}/publish"))
    _ok(http.put(f"/v1/hubs/{hub['id']}/contingency", json={"spare_driver_ids": [drivers[-1]]}))
    return drivers


def _measure(http: httpx.Client, broken: str, say: Callable[[str], None]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    started = time.monotonic()
    disruption = _ok(
        http.post(
            "/v1/disruptions",
            json={"kind": "vehicle_breakdown", "driver_id": broken, "mode": "live"},
        )
    )
    while True:
        current = _ok(http.get(f"/v1/disruptions/{disruption['id']}"))
        if current["status"] != "planning":
            break
        time.sleep(0.05)
    ready = time.monotonic() - started
    plan = _ok(http.get(f"/v1/plans/{current['plan_id']}"))
    applying = time.monotonic()
    _ok(http.post(f"/v1/disruptions/{disruption['id']}/apply"))
    applied = time.monotonic() - applying
    stops = sum(len(r["stops"]) for r in plan["routes"]) + len(plan["unassigned"])
    row = {
        "ready_s": ready,
        "apply_s": applied,
        "solve_s": plan["elapsed_s"],
        "stops": stops,
        "impact": current["impact"],
        "status": current["status"],
        "load": load,
    }
    say(
        f"recovery ready in {ready:.2f} s ({stops} stops), applied in {applied:.2f} s, load {load:.1f}"
    )
    return row


def _table(rows: list[dict[str, Any]]) -> str:
    info = machine()
    lines = [
        f"Re-planning after a breakdown: {DRIVERS} drivers x {STOPS} open stops, 1 spare, end to end"
        f" over HTTP ({info['cpus']} CPUs, {info['date']})",
        "",
        "| run | stops re-planned | detection to recovery ready | of which worker solve | apply | kept in window / affected | rescheduled | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, row in enumerate(rows, start=1):
        impact = row["impact"] or {}
        lines.append(
            f"| {n} | {row['stops']} | {row['ready_s']:.2f} s | {row['solve_s']:.2f} s | {row['apply_s']:.2f} s"
            f" | {impact.get('kept_in_window')} / {impact.get('affected')} | {impact.get('rescheduled')} | {row['load']:.1f} |"
        )
    worst = max(row["ready_s"] for row in rows)
    lines += [
        "",
        f"target: ≤ {TARGET_S:g} s end to end ({'met' if worst <= TARGET_S else 'NOT met'}, worst {worst:.2f} s)",
    ]
    return "\n".join(lines)
