"""The demo city itself: fixed places and people, and a pure, deterministic plan of one day's
shipments split into routes. No database here; `backend.demo.seeder` stores it."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from backend.lib.geo import Point, Polygon
from backend.shipments.schemas import (
    Address,
    ParcelIn,
    Recipient,
    Requirements,
    ShipmentCreate,
    Window,
)

SEED = 20_261_123
HUB_CODE = "DEMO-CITY"
CITY = "Demo City"
HUB_LON, HUB_LAT = 13.4050, 52.5200
# Each zone is a quadrant around the hub, HALF_LON x HALF_LAT degrees (about 4.7 x 5 km).
HALF_LON, HALF_LAT = 0.070, 0.045
SHIPMENTS_PER_DAY = 420
FIRST_WINDOW_HOUR, WINDOWS = 8, 6  # 2-hour windows from 08:00 to 20:00 UTC

DISPATCHER = ("dispatcher@lastmile.local", "demo-dispatcher")
DRIVER_PASSWORD = "demo-driver"
DRIVERS = [
    ("Alex Brandt", "van", 220, 900.0),
    ("Bea Chen", "van", 220, 900.0),
    ("Carlos Diaz", "van", 220, 900.0),
    ("Dana Eriksen", "cargo_bike", 160, 180.0),
    ("Emre Yilmaz", "van", 220, 900.0),
]
QUADRANTS = [
    ("North-East", 1, 1),
    ("North-West", -1, 1),
    ("South-West", -1, -1),
    ("South-East", 1, -1),
]
PICKUP_POINTS = [
    ("Kiosk am Markt", 0.018, 0.012, {"mon-sat": "08:00-20:00"}),
    ("Parcel Locker Bahnhof", -0.025, -0.017, {"mon-sun": "00:00-24:00"}),
]
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chiara",
    "David",
    "Elif",
    "Finn",
    "Greta",
    "Hassan",
    "Ines",
    "Jonas",
    "Katja",
    "Luca",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Sami",
    "Tara",
    "Yusuf",
]
LAST_NAMES = [
    "Abel",
    "Berger",
    "Costa",
    "Dimitrov",
    "Engel",
    "Fischer",
    "Gomez",
    "Hoffmann",
    "Ivanova",
    "Jansen",
    "Klein",
    "Lange",
    "Meyer",
    "Nowak",
    "Okafor",
    "Petrov",
    "Richter",
    "Schulz",
    "Weber",
    "Zimmermann",
]
STREETS = [
    "Lindenallee",
    "Hafenstrasse",
    "Kastanienweg",
    "Marktplatz",
    "Brunnenstrasse",
    "Am Park",
    "Gartenweg",
    "Schulstrasse",
    "Mühlenweg",
    "Bahnhofstrasse",
    "Rosenhof",
    "Ahornring",
    "Kirchgasse",
    "Uferpromenade",
    "Feldstrasse",
    "Birkenweg",
]
NOTES = [None] * 8 + [
    "Ring twice",
    "Leave with the neighbour if out",
    "Back door, please",
    "Dog in the garden, it is friendly",
]


def driver_email(n: int) -> str:
    return f"driver{n}@lastmile.local"


def barcode(day: dt.date, n: int, parcel: int) -> str:
    return f"DM{day:%y%m%d}{n:04d}{chr(65 + parcel)}"


@dataclass
class PlannedShipment:
    n: int
    lon: float
    lat: float
    recipient: Recipient
    address: Address
    parcels: list[ParcelIn]
    service_level: str
    requirements: Requirements | None
    notes: str | None
    window: Window | None = None
    reference: str = ""

    def to_create(self, hub_id: UUID) -> ShipmentCreate:
        return ShipmentCreate(
            hub_id=hub_id,
            recipient=self.recipient,
            address=self.address,
            location=Point.at(self.lon, self.lat),
            parcels=self.parcels,
            reference=self.reference,
            window=self.window,
            service_level=self.service_level,  # type: ignore[arg-type]
            requirements=self.requirements,
            notes=self.notes,
        )


def plan_day(day: dt.date, routes: int) -> list[list[PlannedShipment]]:
    """The day's shipments split into `routes` sectors by angle around the hub, each in a
    nearest-neighbour order from the hub, with 2-hour windows that follow that order."""
    rng = random.Random(SEED)
    shipments = [_shipment(rng, n, day) for n in range(1, SHIPMENTS_PER_DAY + 1)]
    shipments.sort(key=lambda s: (_angle(s.lon, s.lat), s.n))
    size, extra = divmod(len(shipments), routes)
    plans: list[list[PlannedShipment]] = []
    start = 0
    for r in range(routes):
        end = start + size + (1 if r < extra else 0)
        plans.append(_nearest_neighbour_order(shipments[start:end]))
        start = end
    for plan in plans:
        for position, item in enumerate(plan):
            item.window = _window(rng, day, position, len(plan))
    return plans


def _shipment(rng: random.Random, n: int, day: dt.date) -> PlannedShipment:
    quadrant = rng.randrange(len(QUADRANTS))
    _, sx, sy = QUADRANTS[quadrant]
    lon = HUB_LON + sx * rng.uniform(0.002, HALF_LON - 0.002)
    lat = HUB_LAT + sy * rng.uniform(0.002, HALF_LAT - 0.002)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    parcel_count = rng.choices([1, 2, 3], weights=[70, 22, 8])[0]
    return PlannedShipment(
        n=n,
        lon=round(lon, 6),
        lat=round(lat, 6),
        recipient=Recipient(
            name=f"{first} {last}",
            phone=f"+49 30 555{n:05d}",
            email=f"{first}.{last}.{n}@example.com".lower(),
        ),
        address=Address(
            line1=f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            city=CITY,
            postal_code=f"10{quadrant + 1}{rng.randint(10, 99)}",
            country="DE",
        ),
        parcels=[
            ParcelIn(barcode=barcode(day, n, p), weight_kg=round(rng.uniform(0.2, 18), 1))
            for p in range(parcel_count)
        ],
        service_level=rng.choices(["standard", "express", "same_day"], weights=[80, 15, 5])[0],
        requirements=_requirements(rng),
        notes=rng.choice(NOTES),
        reference=f"DEMO-{day:%Y%m%d}-{n:04d}",
    )


def _requirements(rng: random.Random) -> Requirements | None:
    roll = rng.random()
    if roll < 0.55:
        return None
    if roll < 0.75:
        return Requirements(signature=True)
    if roll < 0.87:
        return Requirements(photo=True)
    if roll < 0.92:
        return Requirements(signature=True, photo=True)
    if roll < 0.97:
        return Requirements(pin=True)
    return Requirements(signature=True, min_age=18)


def _window(rng: random.Random, day: dt.date, position: int, stops: int) -> Window | None:
    if rng.random() < 0.15:
        return None  # no window: any time today
    slot = position * WINDOWS // stops
    start = dt.datetime.combine(day, dt.time(FIRST_WINDOW_HOUR + 2 * slot), tzinfo=dt.UTC)
    return Window(start=start, end=start + dt.timedelta(hours=2))


def _angle(lon: float, lat: float) -> float:
    x, y = _local_xy(lon, lat)
    return math.atan2(y, x) % (2 * math.pi)


def _local_xy(lon: float, lat: float) -> tuple[float, float]:
    """Kilometres east and north of the hub (equirectangular; plenty for one city)."""
    return (
        (lon - HUB_LON) * 111.32 * math.cos(math.radians(HUB_LAT)),
        (lat - HUB_LAT) * 110.57,
    )


def _nearest_neighbour_order(items: Sequence[PlannedShipment]) -> list[PlannedShipment]:
    left = list(items)
    here = (0.0, 0.0)
    ordered: list[PlannedShipment] = []
    while left:
        nearest = min(left, key=lambda s: (math.dist(here, _local_xy(s.lon, s.lat)), s.n))
        left.remove(nearest)
        ordered.append(nearest)
        here = _local_xy(nearest.lon, nearest.lat)
    return ordered


def quadrant(sx: int, sy: int) -> Polygon:
    lon, lat = round(HUB_LON + sx * HALF_LON, 6), round(HUB_LAT + sy * HALF_LAT, 6)
    ring = [[HUB_LON, HUB_LAT], [lon, HUB_LAT], [lon, lat], [HUB_LON, lat], [HUB_LON, HUB_LAT]]
    if sx * sy < 0:
        ring.reverse()  # keep every ring counter-clockwise (RFC 7946)
    return Polygon(coordinates=[ring])
