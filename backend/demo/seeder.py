"""`lastmile seed-demo`: stores the demo city (once) and a day of its work (once per date)
through the domain services, inside one unit of work, so it is all there or none of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.repository import UserRepository
from backend.auth.users import UserService
from backend.config import Settings
from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.demo.city import (
    CITY,
    DISPATCHER,
    DRIVER_PASSWORD,
    DRIVERS,
    HUB_CODE,
    HUB_LAT,
    HUB_LON,
    PICKUP_POINTS,
    QUADRANTS,
    barcode,
    driver_email,
    plan_day,
    quadrant,
)
from backend.drivers.schemas import DriverCreate, DriverRead, VehicleIn
from backend.drivers.service import DriverService
from backend.lib.clock import utcnow
from backend.lib.geo import Point
from backend.manifests.schemas import RouteCreate, StopIn
from backend.manifests.service import RouteService
from backend.network.repository import NetworkRepository
from backend.network.schemas import HubCreate, PickupPointCreate, ZoneCreate
from backend.network.service import NetworkService
from backend.shipments.repository import ShipmentRepository
from backend.shipments.service import ShipmentService


class DemoError(Exception):
    """The database holds a demo that was changed by hand in a way the seeder cannot continue."""


@dataclass
class Login:
    role: str
    email: str
    password: str
    name: str = ""


@dataclass
class SeedResult:
    day: dt.date
    city_created: bool
    day_created: bool
    zones: int = 0
    pickup_points: int = 0
    shipments: int = 0
    routes: list[tuple[str, int]] = field(default_factory=list)  # (driver email, stops)
    logins: list[Login] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"Demo city {CITY!r} (hub {HUB_CODE}), day {self.day.isoformat()} (UTC):"]
        if self.city_created:
            lines.append(
                f"  created the hub, {self.zones} zones and {self.pickup_points} pickup points"
            )
        if self.day_created:
            lines.append(
                f"  created {self.shipments} shipments on {len(self.routes)} published routes"
            )
        if not (self.city_created or self.day_created):
            lines.append("  already loaded for today; nothing changed")
        stops = dict(self.routes)
        lines.append("Demo logins (POST /v1/auth/token with email and password):")
        for login in self.logins:
            extra = f"  {login.name}" if login.name else ""
            if login.email in stops:
                extra += f", {stops[login.email]} stops today"
            lines.append(f"  {login.role:<10}  {login.email:<26}  {login.password}{extra}")
        return "\n".join(lines)


async def seed_demo(settings: Settings, *, today: dt.date | None = None) -> SeedResult:
    """Load the demo city (once) and today's work (once per day)."""
    day = today or utcnow().date()
    engine = make_engine(settings)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            return await DemoSeeder(session, day, pin_secret=settings.secret_key).run()
    finally:
        await engine.dispose()


def demo_logins() -> list[Login]:
    logins = [Login("dispatcher", *DISPATCHER)]
    logins += [
        Login("driver", driver_email(n), DRIVER_PASSWORD, name)
        for n, (name, *_) in enumerate(DRIVERS, 1)
    ]
    return logins


class DemoSeeder:
    def __init__(self, session: AsyncSession, day: dt.date, *, pin_secret: str) -> None:
        self.session = session
        self.day = day
        self.pin_secret = pin_secret  # delivery PINs derive from the server secret
        self.network = NetworkService(session)

    async def run(self) -> SeedResult:
        result = SeedResult(day=self.day, city_created=False, day_created=False)
        result.logins = demo_logins()
        hub = await NetworkRepository(self.session).hub_by_code(HUB_CODE)
        if hub is None:
            hub_id = await self._create_city(result)
            result.city_created = True
        else:
            hub_id = hub.id
        dispatcher = await UserRepository(self.session).by_email(DISPATCHER[0])
        if dispatcher is None:
            raise DemoError(f"the demo hub exists but {DISPATCHER[0]} does not")
        # A day's shipments and routes are made together; its first barcode marks it done.
        if not await ShipmentRepository(self.session).taken_barcodes([barcode(self.day, 1, 0)]):
            await self._create_day(hub_id, dispatcher.id, result)
            result.day_created = True
        return result

    async def _create_city(self, result: SeedResult) -> UUID:
        hub = await self.network.create_hub(
            HubCreate(
                name=f"{CITY} Hub",
                code=HUB_CODE,
                location=Point.at(HUB_LON, HUB_LAT),
                address={"line1": "Logistikring 1", "city": CITY, "postal_code": "10100"},
            )
        )
        for name, sx, sy in QUADRANTS:
            await self.network.create_zone(
                ZoneCreate(name=name, hub_id=hub.id, area=quadrant(sx, sy))
            )
        for name, dx, dy, hours in PICKUP_POINTS:
            await self.network.create_pickup_point(
                PickupPointCreate(
                    name=name,
                    location=Point.at(round(HUB_LON + dx, 6), round(HUB_LAT + dy, 6)),
                    hub_id=hub.id,
                    opening_hours=hours,
                )
            )
        result.zones, result.pickup_points = len(QUADRANTS), len(PICKUP_POINTS)
        await UserService(self.session).create(*DISPATCHER, "dispatcher")
        drivers = DriverService(self.session)
        for n, (name, kind, parcels, kg) in enumerate(DRIVERS, 1):
            await drivers.create(
                DriverCreate(
                    name=name,
                    email=driver_email(n),
                    password=DRIVER_PASSWORD,
                    home_hub_id=hub.id,
                    phone=f"+49 30 5550 {n:04d}",
                    vehicle=VehicleIn(kind=kind, capacity_parcels=parcels, capacity_kg=kg),
                )
            )
        return hub.id

    async def _create_day(self, hub_id: UUID, actor_id: UUID, result: SeedResult) -> None:
        drivers = await self._drivers(hub_id)
        plans = plan_day(self.day, len(drivers))
        flat = [item for route in plans for item in route]
        created, errors = await ShipmentService(
            self.session, pin_secret=self.pin_secret
        ).create_many([item.to_create(hub_id) for item in flat], actor_id)
        if errors:
            raise DemoError(f"demo shipments refused: {errors[0].detail}")
        ids = {item.index: item.id for item in created}
        routes = RouteService(self.session)
        position = 0
        for driver, plan in zip(drivers, plans, strict=True):
            stops = [StopIn(shipment_id=ids[position + i]) for i in range(len(plan))]
            position += len(plan)
            route = await routes.create(
                RouteCreate(driver_id=driver.id, hub_id=hub_id, date=self.day, stops=stops),
                actor_id=actor_id,
            )
            await routes.publish(route.id, actor_id=actor_id)
            result.routes.append((driver.email, len(stops)))
        result.shipments = len(created)

    async def _drivers(self, hub_id: UUID) -> list[DriverRead]:
        """The demo's drivers, in their order, as long as they are active."""
        page = await DriverService(self.session).page(
            cursor=None, limit=100, hub_id=hub_id, active=True
        )
        by_email = {driver.email: driver for driver in page.items}
        drivers = [
            by_email[e] for n in range(1, len(DRIVERS) + 1) if (e := driver_email(n)) in by_email
        ]
        if not drivers:
            raise DemoError("the demo hub has no active demo drivers left")
        return drivers
