"""`scripts/simulate --disruption breakdown@11:00`: a delivery day with a disruption in it.

The day is yesterday (UTC), so every event a driver sends is in the past and its effective time
is the time it claims. Set-up: a hub with a zone, drivers with vans and a spare on standby,
shipments with three-hour windows, planned by `POST /v1/plans` and published. Drivers then work
their manifests in simulated time (travel at the planner's speed with some noise, service at the
planner's service time), pushing `scan_loaded` and `delivered`. At the given time the disruption
is reported live, the recovery is waited for and confirmed, every driver pulls, the spare sets
off from where the recovery says, and the day runs to its end. The report: the share of affected
stops delivered in their window (the server's own outcome, measured from the event log) and the
time to recovery (real seconds to a ready and to an applied plan; simulated minutes until the
last affected stop was settled).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.simulator.disruption_spec import DisruptionReport, DisruptionSpec
from backend.simulator.http import ApiClient

CENTER = (13.40, 52.50)
SPEED_MPS, DETOUR = 25 / 3.6, 1.3  # the planner's defaults for a van
SHIFT = ("08:00:00", "18:00:00")
END_OF_DAY = dt.time(21, 0)  # drivers deliver late rather than bring parcels back


@dataclass
class Stop:
    shipment_id: str
    lon: float
    lat: float
    window: tuple[dt.datetime, dt.datetime]


@dataclass
class SimDriver:
    driver_id: str
    email: str
    api: ApiClient | None = None
    device_id: str = ""
    seq: int = 0
    place: tuple[float, float] = CENTER
    clock: dt.datetime | None = None
    manifest: list[str] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    stopped: bool = False


class DisruptionDay:
    def __init__(
        self,
        http: httpx.AsyncClient,
        admin: ApiClient,
        spec: DisruptionSpec,
        *,
        drivers: int,
        stops: int,
        seed: int,
        travel_noise: float,
    ) -> None:
        self.http, self.admin, self.spec = http, admin, spec
        self.rng = random.Random(seed)
        self.n_drivers, self.n_stops, self.noise = drivers, stops, travel_noise
        self.day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        self.origin = dt.datetime.combine(self.day, dt.time(0), tzinfo=dt.UTC)
        self.run_id = uuid.uuid4().hex[:8]
        self.stops: dict[str, Stop] = {}
        self.drivers: list[SimDriver] = []
        self.spare: SimDriver | None = None
        self.closed: tuple[dt.datetime, dt.datetime] | None = None

    def at(self, t: dt.time) -> dt.datetime:
        return dt.datetime.combine(self.day, t, tzinfo=dt.UTC)

    # set-up ------------------------------------------------------------------------------------

    async def setup(self) -> None:
        point = {"type": "Point", "coordinates": list(CENTER)}
        hub = await self.admin.call(
            "POST",
            "/v1/hubs",
            {"name": f"Sim {self.run_id}", "code": f"S{self.run_id}", "location": point},
        )
        self.hub_id = hub["id"]
        ring = [
            [CENTER[0] + x * 0.06, CENTER[1] + y * 0.04]
            for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))
        ]
        zone = await self.admin.call(
            "POST",
            "/v1/zones",
            {
                "name": f"Sim {self.run_id}",
                "hub_id": self.hub_id,
                "area": {"type": "Polygon", "coordinates": [ring]},
            },
        )
        self.zone_id = zone["id"]
        people = [await self._driver(n) for n in range(self.n_drivers + 1)]
        self.drivers, self.spare = people[:-1], people[-1]
        await self.admin.call(
            "PUT",
            f"/v1/hubs/{self.hub_id}/contingency",
            {"spare_driver_ids": [self.spare.driver_id]},
        )
        await self._shipments(self.n_drivers * self.n_stops)
        plan = await self.admin.call(
            "POST",
            "/v1/plans",
            {
                "hub_id": self.hub_id,
                "date": self.day.isoformat(),
                "driver_ids": [d.driver_id for d in self.drivers],
                "time_limit_s": 10,
            },
        )
        plan = await self._until_done(
            f"/v1/plans/{plan['id']}", lambda p: p["status"] in ("done", "failed")
        )
        if plan["status"] != "done":
            raise RuntimeError(f"the morning plan failed: {plan['error']}")
        applied = await self.admin.call("POST", f"/v1/plans/{plan['id']}/apply")
        for route in applied["routes"]:
            await self.admin.call("POST", f"/v1/routes/{route['id']}/publish")
        starts = {r["driver_id"]: dt.datetime.fromisoformat(r["start"]) for r in plan["routes"]}
        for driver in self.drivers:
            driver.clock = starts.get(driver.driver_id, self.at(dt.time(8, 0)))
            await self._sign_in(driver)
            await self.pull(driver)
            await self.push(driver, [("scan_loaded", sid, driver.clock) for sid in driver.manifest])

    async def _driver(self, n: int) -> SimDriver:
        email = f"sim-{self.run_id}-{n}@sim.lastmile"
        body = {
            "name": f"Sim driver {n}",
            "email": email,
            "password": "sim-driver-password",
            "home_hub_id": self.hub_id,
            "vehicle": {"kind": "van", "capacity_parcels": 200},
        }
        driver = await self.admin.call("POST", "/v1/drivers", body)
        await self.admin.call(
            "PUT",
            f"/v1/drivers/{driver['id']}/planning",
            {"shift_start": SHIFT[0], "shift_end": SHIFT[1]},
        )
        return SimDriver(driver["id"], email)

    async def _shipments(self, count: int) -> list[str]:
        items, stops = [], []
        for i in range(count):
            lon = CENTER[0] + self.rng.uniform(-0.04, 0.04)
            lat = CENTER[1] + self.rng.uniform(-0.025, 0.025)
            start = self.at(dt.time(self.rng.randint(9, 15)))
            window = (start, start + dt.timedelta(hours=3))
            stops.append((lon, lat, window))
            items.append(
                {
                    "hub_id": self.hub_id,
                    "recipient": {"name": f"Sim {i}", "phone": "+49 30 1234567"},
                    "address": {
                        "line1": f"Sim street {i}",
                        "city": "Berlin",
                        "postal_code": "10115",
                        "country": "DE",
                    },
                    "location": {"type": "Point", "coordinates": [lon, lat]},
                    "window": {"start": window[0].isoformat(), "end": window[1].isoformat()},
                    "parcels": [
                        {"barcode": f"SIM{self.run_id}{len(self.stops) + i:05d}", "weight_kg": 2.0}
                    ],
                }
            )
        created = (await self.admin.call("POST", "/v1/shipments/bulk", {"shipments": items}))[
            "created"
        ]
        for row in created:
            lon, lat, window = stops[row["index"]]
            self.stops[row["id"]] = Stop(row["id"], lon, lat, window)
        return [row["id"] for row in created]

    async def _sign_in(self, driver: SimDriver) -> None:
        driver.device_id = f"sim-{driver.driver_id[-8:]}"
        driver.api = await ApiClient(self.http).sign_in(
            driver.email, "sim-driver-password", driver.device_id
        )

    # the handheld ------------------------------------------------------------------------------

    async def pull(self, driver: SimDriver) -> None:
        """A snapshot of the manifest: the driver's active stops in sequence order."""
        assert driver.api is not None
        page = await driver.api.call("GET", "/v1/sync/pull")
        stops = [
            c["data"] for c in page["changes"] if c["entity"] == "stop" and c["op"] == "upsert"
        ]
        driver.manifest = [s["shipment_id"] for s in sorted(stops, key=lambda s: s["sequence"])]

    async def push(self, driver: SimDriver, events: list[tuple[str, str, dt.datetime]]) -> None:
        assert driver.api is not None
        batch = []
        for type_, sid, when in events:
            driver.seq += 1
            event: dict[str, Any] = {
                "event_id": str(uuid.uuid4()),
                "seq": driver.seq,
                "type": type_,
                "occurred_at": when.isoformat(),
                "shipment_id": sid,
            }
            if type_ == "delivered":
                event["data"] = {"handoff": "recipient", "recipient_name": "R. Simulated"}
                event["location"] = {
                    "lon": self.stops[sid].lon,
                    "lat": self.stops[sid].lat,
                    "accuracy_m": 10,
                }
            batch.append(event)
        for start in range(0, len(batch), 100):
            body = {
                "device_id": driver.device_id,
                "batch_id": str(uuid.uuid4()),
                "events": batch[start : start + 100],
            }
            await driver.api.call("POST", "/v1/sync/push", body)

    def travel(self, a: tuple[float, float], b: tuple[float, float]) -> dt.timedelta:
        metres = _haversine(a, b) * DETOUR
        noise = self.rng.uniform(1 - self.noise, 1 + self.noise)
        return dt.timedelta(seconds=round(metres / SPEED_MPS * noise))

    async def work(self, driver: SimDriver, until: dt.datetime) -> None:
        """Drive and deliver in manifest order until `until` (simulated time)."""
        if driver.stopped or driver.clock is None:
            return
        delivered = []
        for sid in driver.manifest:
            if sid in driver.done:
                continue
            stop = self.stops[sid]
            arrival = driver.clock + self.travel(driver.place, (stop.lon, stop.lat))
            begin = max(arrival, stop.window[0])
            if self.closed and self.closed[0] <= begin < self.closed[1]:
                begin = self.closed[1]  # the police let no one in before it reopens
            if begin > until:
                break
            delivered.append(("delivered", sid, begin))

            driver.done.add(sid)
            driver.clock, driver.place = begin + dt.timedelta(seconds=60), (stop.lon, stop.lat)
        if delivered:
            await self.push(driver, delivered)

    async def ping(self, driver: SimDriver, when: dt.datetime) -> None:
        assert driver.api is not None
        body = {
            "device_id": driver.device_id,
            "pings": [{"at": when.isoformat(), "lon": driver.place[0], "lat": driver.place[1]}],
        }
        await driver.api.call("POST", "/v1/tracking/pings", body)

    # the day -----------------------------------------------------------------------------------

    async def run(self) -> DisruptionReport:
        await self.setup()
        moment = self.at(self.spec.at)
        for driver in self.drivers:
            await self.work(driver, moment)
            await self.ping(driver, moment)
        victim = self.drivers[0]
        started = time.monotonic()
        disruption = await self.admin.call(
            "POST", "/v1/disruptions", await self._report(victim, moment)
        )
        ready = await self._until_done(
            f"/v1/disruptions/{disruption['id']}", lambda d: d["status"] != "planning"
        )
        ready_s = time.monotonic() - started
        if ready["status"] != "ready":
            raise RuntimeError(f"the recovery did not get ready: {ready['status']}")
        await self.admin.call("POST", f"/v1/disruptions/{disruption['id']}/apply")
        applied_s = time.monotonic() - started
        await self._resume(victim, ready["plan_id"], moment)

        end = self.at(END_OF_DAY)
        for driver in [*self.drivers, self.spare]:
            await self.work(driver, end)  # type: ignore[arg-type]
        final = await self.admin.call("GET", f"/v1/disruptions/{disruption['id']}")
        recovered = final["timeline"]["recovered_at"]
        return DisruptionReport(
            kind=self.spec.kind,
            at=moment.isoformat(),
            drivers=self.n_drivers,
            shipments=len(self.stops),
            affected=len(final["affected_shipment_ids"]),
            outcome=final["outcome"] or {},
            impact=final["impact"] or {},
            ready_s=ready_s,
            applied_s=applied_s,
            recovered_after_min=(dt.datetime.fromisoformat(recovered) - moment).total_seconds() / 60
            if recovered
            else None,
        )

    async def _report(self, victim: SimDriver, moment: dt.datetime) -> dict[str, Any]:
        kind = self.spec.kind
        body: dict[str, Any] = {"kind": kind, "mode": "live", "at": moment.isoformat()}
        if kind == "vehicle_breakdown":
            victim.stopped = True
            return body | {
                "driver_id": victim.driver_id,
                "at": moment.isoformat(),
                "location": {"type": "Point", "coordinates": list(victim.place)},
            }
        if kind == "driver_unavailable":
            victim.stopped = True
            return body | {"driver_id": victim.driver_id}
        if kind == "zone_closed":
            self.closed = (moment, moment + dt.timedelta(hours=1))  # the zone is the whole area
            return body | {
                "zone_id": self.zone_id,
                "until": (moment + dt.timedelta(hours=1)).isoformat(),
                "reason": "police",
            }
        await self._shipments(self.n_stops)  # a spike: a route's worth more, unrouted
        return body | {"hub_id": self.hub_id, "extra": self.n_stops}

    async def _resume(self, victim: SimDriver, plan_id: str, moment: dt.datetime) -> None:
        """Everyone pulls; the spare sets off from where and when the recovery says."""
        plan = await self.admin.call("GET", f"/v1/plans/{plan_id}")
        for driver in self.drivers:
            await self.pull(driver)
        assert self.spare is not None
        await self._sign_in(self.spare)
        await self.pull(self.spare)
        route = next((r for r in plan["routes"] if r["driver_id"] == self.spare.driver_id), None)
        if route is not None and self.spare.manifest:
            self.spare.place = tuple(route["start_location"])  # type: ignore[assignment]
            self.spare.clock = max(dt.datetime.fromisoformat(route["start"]), moment)
            await self.push(
                self.spare, [("scan_loaded", sid, self.spare.clock) for sid in self.spare.manifest]
            )

    async def _until_done(self, path: str, finished: Any, limit_s: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            current = await self.admin.call("GET", path)
            if finished(current):
                return current
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{path} did not finish in {limit_s:.0f} s")


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(h, 1.0)))


async def simulate_disruption(
    http: httpx.AsyncClient,
    spec: DisruptionSpec,
    *,
    admin_email: str,
    admin_password: str,
    drivers: int,
    stops: int,
    seed: int,
    travel_noise: float = 0.1,
) -> DisruptionReport:
    admin = await ApiClient(http).sign_in(admin_email, admin_password)
    day = DisruptionDay(
        http, admin, spec, drivers=drivers, stops=stops, seed=seed, travel_noise=travel_noise
    )
    return await day.run()
