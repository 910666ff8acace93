"""`scripts/bench offers`: how long an offer takes to decide who is eligible among many couriers,
how acceptance behaves when 50 couriers accept one offer at once, and what the `offer` entity
costs a courier's pull.

Runs in-process against its own database (dropped and re-created; the name must contain
`bench`): couriers are seeded with SQL, offers go through `OfferService` exactly as the API's
handlers call it, each request in its own unit of work. Bounded: a fixed number of offers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.schemas import Principal
from backend.bench.server import fresh_database
from backend.bench.table import machine, ms
from backend.config import Settings
from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict
from backend.manifests.schemas import RouteCreate, StopIn
from backend.manifests.service import RouteService
from backend.offers.schemas import OfferCreate, Pay
from backend.offers.service import OfferService
from backend.shipments.schemas import ShipmentCreate
from backend.shipments.service import ShipmentService
from backend.sync import pull
from backend.sync.changes import ManifestChangeLog
from backend.sync.pull import PullService

HUB = (13.40, 52.50)
MANIFEST_STOPS = 250
PULLS = 200
TARGET_CREATE_P99_MS = 100.0  # an offer is a dispatcher's click: well under a human's notice
TARGET_PULL_RATIO = 1.10  # the offer entity may not cost a courier's pull more than 10 %


@dataclass
class OffersBench:
    database_url: str
    couriers: int = 5_000
    offers: int = 50
    contenders: int = 50
    rounds: int = 10
    radius_m: float = 5_000


# Couriers spread uniformly over a square of about ±14 km around the hub; three in four online,
# all available every day, capacities from 10 to 60 parcels.
_SEED = """
WITH numbered AS (
    SELECT n, gen_random_uuid() AS user_id, gen_random_uuid() AS driver_id,
           gen_random_uuid() AS application_id,
           ST_SetSRID(ST_MakePoint(:lon + (random() - 0.5) * 0.4,
                                   :lat + (random() - 0.5) * 0.25), 4326)::geography AS position
    FROM generate_series(1, :count) AS n
), users AS (
    INSERT INTO users (id, email, password_hash, role)
    SELECT user_id, 'bench-courier-' || n || '@bench.local', 'x', 'driver' FROM numbered
), drivers AS (
    INSERT INTO drivers (id, user_id, name, home_hub_id, employment)
    SELECT driver_id, user_id, 'Courier ' || n, :hub, 'courier' FROM numbered
), vehicles AS (
    INSERT INTO vehicles (id, driver_id, kind, capacity_parcels, capacity_kg)
    SELECT gen_random_uuid(), driver_id, 'cargo_bike', 10 + n % 51, 100 FROM numbered
), applications AS (
    INSERT INTO courier_applications (id, status, name, email, phone, password_hash, city,
                                      vehicle_kind, driver_id)
    SELECT application_id, 'active', 'Courier ' || n, 'bench-courier-' || n || '@bench.local',
           '+4930', 'x', 'Berlin', 'cargo_bike', driver_id FROM numbered
)
INSERT INTO courier_profiles (driver_id, application_id, online, position, availability)
SELECT driver_id, application_id, n % 4 <> 0, position,
       (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'start', '00:00', 'end', '24:00'))
        FROM generate_series(1, 7) d)
FROM numbered
"""


async def run_offers(bench: OffersBench, say: Callable[[str], None]) -> str:
    await fresh_database(bench.database_url)
    settings = Settings.from_env({"LASTMILE_DATABASE_URL": bench.database_url}, db_pool_size=20)
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    try:
        say(f"seeding {bench.couriers:,} couriers and {bench.offers + bench.rounds} shipments")
        shipment_ids, admin_id = await _seed(sessionmaker, bench)
        say(f"timing {bench.offers} offers with eligibility over every courier")
        create = await _time_creates(sessionmaker, bench, shipment_ids[: bench.offers], admin_id)
        say(f"{bench.rounds} rounds of {bench.contenders} concurrent accepts")
        contested = shipment_ids[bench.offers : bench.offers + bench.rounds]
        rounds = await _contention(sessionmaker, bench, contested, admin_id)
        say("pulls of a 250-stop manifest with and without the offer entity")
        pulls = await _pull_overhead(sessionmaker, shipment_ids[bench.offers + bench.rounds :])
    finally:
        await engine.dispose()
    return _table(bench, create, rounds, pulls)


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], bench: OffersBench
) -> tuple[list[UUID], UUID]:
    async with unit_of_work(sessionmaker) as session:
        admin_id = await session.scalar(
            text(
                "INSERT INTO users (id, email, password_hash, role) VALUES"
                " (gen_random_uuid(), 'admin@bench.local', 'x', 'admin') RETURNING id"
            )
        )
        hub_id = await session.scalar(
            text(
                "INSERT INTO hubs (id, name, code, location) VALUES (gen_random_uuid(), 'Bench hub',"
                " 'BENCH',"
                " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) RETURNING id"
            ),
            {"lon": HUB[0], "lat": HUB[1]},
        )
        await session.execute(
            text(_SEED), {"lon": HUB[0], "lat": HUB[1], "count": bench.couriers, "hub": hub_id}
        )
        count = bench.offers + bench.rounds + MANIFEST_STOPS
        items = [_shipment(hub_id, n) for n in range(count)]
        created, refused = await ShipmentService(session).create_many(items, admin_id)
        assert not refused, refused
        await session.execute(text("ANALYZE"))
    return [c.id for c in created], admin_id


def _shipment(hub_id: UUID, n: int) -> ShipmentCreate:
    rng = random.Random(n)
    lon, lat = HUB[0] + rng.uniform(-0.05, 0.05), HUB[1] + rng.uniform(-0.03, 0.03)
    item = {
        "hub_id": str(hub_id),
        "reference": f"BENCH-{n}",
        "recipient": {"name": f"Recipient {n}", "phone": "+4930 1234567"},
        "address": {
            "line1": f"Street {n}",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "parcels": [{"barcode": f"BENCH{n:08d}", "weight_kg": 2.0}],
    }
    return msgspec.convert(item, ShipmentCreate, strict=False)


def _offer(shipment_id: UUID, radius: float | None, couriers: list[UUID] | None) -> OfferCreate:
    return OfferCreate(
        pay=Pay(10.0, "EUR"),
        expires_at=utcnow() + timedelta(minutes=30),
        shipment_ids=[shipment_id],
        radius_m=radius,
        courier_ids=couriers,
    )


async def _time_creates(sessionmaker, bench: OffersBench, shipments, admin_id) -> dict:
    latencies, offered, excluded, far = [], [], [], []
    for shipment_id in shipments:
        started = time.perf_counter()
        async with unit_of_work(sessionmaker) as session:
            read = await OfferService(session).create(
                _offer(shipment_id, bench.radius_m, None), admin_id
            )
        latencies.append(time.perf_counter() - started)
        offered.append(len(read.offered))
        excluded.append(len(read.excluded))
        far.append(read.out_of_range)
    return {"latencies": latencies, "offered": offered, "excluded": excluded, "far": far}


async def _contention(sessionmaker, bench: OffersBench, shipments, admin_id) -> list[dict]:
    async with unit_of_work(sessionmaker) as session:
        online = (
            (
                await session.execute(
                    text(
                        "SELECT driver_id FROM courier_profiles WHERE online ORDER BY driver_id"
                        " LIMIT :n"
                    ),
                    {"n": bench.contenders},
                )
            )
            .scalars()
            .all()
        )
    rounds = []
    for shipment_id in shipments:
        async with unit_of_work(sessionmaker) as session:
            offer = await OfferService(session).create(
                _offer(shipment_id, None, list(online)), admin_id
            )
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(_accept(sessionmaker, offer.id, driver_id) for driver_id in online)
        )
        elapsed = time.perf_counter() - started
        rounds.append(
            {
                "elapsed": elapsed,
                "winners": outcomes.count("won"),
                "taken": outcomes.count("offer_taken"),
            }
        )
    return rounds


async def _accept(sessionmaker, offer_id: UUID, driver_id: UUID) -> str:
    principal = Principal(user_id=driver_id, role="driver", driver_id=driver_id)
    try:
        async with unit_of_work(sessionmaker) as session:
            await OfferService(session).accept(offer_id, principal)
        return "won"
    except Conflict as exc:
        return exc.code


async def _pull_overhead(sessionmaker, shipment_ids: list[UUID]) -> dict[str, list[float]]:
    """Snapshot and delta pulls of one courier's 250-stop route, alternating between the pull
    as it is (with `entity: offer`) and the same pull without the offer entity, so both meet
    the same machine load."""
    async with unit_of_work(sessionmaker) as session:
        row = (
            await session.execute(
                text(
                    "SELECT p.driver_id, d.home_hub_id FROM courier_profiles p"
                    " JOIN drivers d ON d.id = p.driver_id ORDER BY p.driver_id LIMIT 1"
                )
            )
        ).one()
        driver_id, hub_id = row
        routes = RouteService(session)
        stops = [StopIn(shipment_id=s) for s in shipment_ids]
        route = await routes.create(
            RouteCreate(driver_id=driver_id, hub_id=hub_id, date=utcnow().date(), stops=stops),
            None,
        )
        await routes.publish(route.id, None)
    async with unit_of_work(sessionmaker) as session:
        cursor = (await PullService(session).pull(driver_id, None, 1000)).cursor
    async with unit_of_work(sessionmaker) as session:
        await ManifestChangeLog(session).record(
            driver_id, [("shipment", s, "upsert") for s in shipment_ids[:3]]
        )
    variants = {"with": (pull._ENTITIES, pull._WANTED_ENTITIES), "without": _without_offers()}
    timings: dict[str, list[float]] = {
        f"{kind} {v}": [] for kind in ("snapshot", "delta") for v in variants
    }
    for _ in range(PULLS):
        for name, (entities, wanted) in variants.items():
            pull._ENTITIES, pull._WANTED_ENTITIES = entities, wanted
            for kind, at in (("snapshot", None), ("delta", cursor)):
                started = time.perf_counter()
                async with unit_of_work(sessionmaker) as session:
                    await PullService(session).pull(driver_id, at, 1000)
                timings[f"{kind} {name}"].append(time.perf_counter() - started)
    pull._ENTITIES, pull._WANTED_ENTITIES = variants["with"]
    return timings


def _without_offers() -> tuple[tuple, str]:
    entities = tuple(e for e in pull._ENTITIES if e[0] != "offer")
    wanted = " UNION ALL ".join(
        f"SELECT '{entity}' AS entity, e.id, e.data FROM ("
        + query.format(extra=f"AND {prefix}id = ANY(${n}::uuid[])")
        + ") e"
        for n, (entity, query, prefix) in enumerate(entities, start=3)
    )
    return entities, wanted


def _table(bench: OffersBench, create: dict, rounds: list[dict], pulls: dict) -> str:
    m = machine()
    lat = create["latencies"]
    p99 = ms(lat, 99)
    winners = [r["winners"] for r in rounds]
    elapsed = [r["elapsed"] for r in rounds]
    lines = [
        f"Offers bench — {m['date']}, {m['cpus']} CPUs, {m['memory']}; {bench.couriers:,} "
        f"couriers, radius {bench.radius_m:,.0f} m",
        "",
        "| what | figure | target | verdict |",
        "|---|---|---|---|",
        f"| offer made (eligibility over every courier, insert, change log) | p50 "
        f"{ms(lat, 50):.1f} ms, p99 {p99:.1f} ms ({len(lat)} offers) | p99 ≤ "
        f"{TARGET_CREATE_P99_MS:.0f} ms | {'PASS' if p99 <= TARGET_CREATE_P99_MS else 'MISS'} |",
        f"| couriers offered / excluded / out of range per offer | "
        f"{sum(create['offered']) / len(lat):,.0f} / {sum(create['excluded']) / len(lat):,.0f}"
        f" / {sum(create['far']) / len(lat):,.0f} | — | — |",
        f"| {bench.contenders} concurrent accepts of one offer: winners per offer | "
        f"{min(winners)} to {max(winners)} over {len(rounds)} rounds | exactly 1 | "
        f"{'PASS' if set(winners) == {1} else 'MISS'} |",
        f"| … all {bench.contenders} answered (winner's route published) | p50 "
        f"{ms(elapsed, 50):.0f} ms, max {1000 * max(elapsed):.0f} ms | — | — |",
    ]
    for kind in ("snapshot", "delta"):
        with_, without = pulls[f"{kind} with"], pulls[f"{kind} without"]
        ratio = ms(with_, 50) / ms(without, 50) if ms(without, 50) else 0.0
        lines.append(
            f"| {kind} pull, {MANIFEST_STOPS} stops, with / without `entity: offer` | p50 "
            f"{ms(with_, 50):.2f} / {ms(without, 50):.2f} ms, p99 {ms(with_, 99):.2f} / "
            f"{ms(without, 99):.2f} ms (ratio {ratio:.2f}) | ratio ≤ {TARGET_PULL_RATIO} | "
            f"{'PASS' if ratio <= TARGET_PULL_RATIO else 'MISS'} |"
        )
    return "\n".join(lines)
