"""Queries of offers, and the reads of routes, shipments and couriers that eligibility needs."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
from sqlalchemy import RowMapping, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.offers.models import Offer, OfferRecipient

# Per shipment: what an offer of it weighs, where and when it goes, and whether it is free.
_SHIPMENT_FACTS = text("""
    SELECT s.id, s.hub_id, s.status, s.window_start, s.window_end,
           ST_X(s.location::geometry) AS lon, ST_Y(s.location::geometry) AS lat,
           (SELECT count(*) FROM parcels p WHERE p.shipment_id = s.id) AS parcels,
           (SELECT coalesce(sum(p.weight_kg), 0) FROM parcels p WHERE p.shipment_id = s.id)
               AS weight_kg,
           EXISTS (SELECT 1 FROM stops st WHERE st.shipment_id = s.id AND st.active) AS routed
    FROM shipments s WHERE s.id = ANY(CAST(:ids AS uuid[]))
""")
# Per courier (driver with employment `courier`): why they may not take the work, decided where
# the data is, so thousands of couriers cost one small row each (docs/couriers.md, eligibility).
# The distance is PostGIS on the courier's online position or, failing that, their latest fix;
# availability is a weekly slot (UTC) covering the work window ($6 weekday, $7 start, $8 end;
# NULL: no slot can).
_COURIER_REASONS = """
    SELECT d.id AS driver_id, array_remove(ARRAY[
        CASE WHEN NOT (d.active AND a.status = 'active') THEN 'not_active' END,
        CASE WHEN NOT cp.online AND NOT EXISTS (
                SELECT 1 FROM jsonb_array_elements(cp.availability) slot
                WHERE (slot->>'weekday')::int = $6
                  AND slot->>'start' <= $7 AND slot->>'end' >= $8)
             THEN 'not_available' END,
        CASE WHEN v.capacity_parcels < $9 THEN 'no_capacity_parcels' END,
        CASE WHEN v.capacity_kg < $10 THEN 'no_capacity_weight' END,
        CASE WHEN $3::float8 IS NULL THEN NULL
             WHEN coalesce(cp.position, lp.location) IS NULL THEN 'position_unknown'
             WHEN NOT ST_DWithin(coalesce(cp.position, lp.location),
                                 ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3::float8)
             THEN 'too_far' END
    ], NULL) AS reasons
    FROM drivers d
    JOIN courier_profiles cp ON cp.driver_id = d.id
    JOIN courier_applications a ON a.id = cp.application_id
    LEFT JOIN vehicles v ON v.driver_id = d.id
    LEFT JOIN latest_positions lp ON lp.driver_id = d.id
    WHERE d.employment = 'courier' AND ($4::boolean OR d.id = ANY($5::uuid[]))
    ORDER BY d.id
"""


# Online, active couriers nearest a point first (the disruption recovery's rescue couriers).
_ONLINE_NEAR = text("""
    SELECT d.id AS driver_id, ST_X(cp.position::geometry) AS lon,
           ST_Y(cp.position::geometry) AS lat
    FROM drivers d
    JOIN courier_profiles cp ON cp.driver_id = d.id
    JOIN courier_applications a ON a.id = cp.application_id
    WHERE d.employment = 'courier' AND d.active AND a.status = 'active' AND cp.online
      AND cp.position IS NOT NULL
      AND ST_DWithin(cp.position, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius)
    ORDER BY cp.position <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, d.id
    LIMIT :limit
""")


class OfferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def online_couriers_near(
        self, lon: float, lat: float, radius_m: float, limit: int
    ) -> list[RowMapping]:
        rows = await self.session.execute(
            _ONLINE_NEAR, {"lon": lon, "lat": lat, "radius": radius_m, "limit": limit}
        )
        return list(rows.mappings())

    async def route(self, route_id: UUID) -> RowMapping | None:
        rows = await self.session.execute(
            text("""
                SELECT r.id, r.status, r.hub_id, r.date,
                       array_agg(st.shipment_id ORDER BY st.sequence)
                           FILTER (WHERE st.id IS NOT NULL) AS shipment_ids
                FROM routes r LEFT JOIN stops st ON st.route_id = r.id AND st.active
                WHERE r.id = :id GROUP BY r.id
            """),
            {"id": route_id},
        )
        return rows.mappings().first()

    async def shipment_facts(self, shipment_ids: Sequence[UUID]) -> dict[UUID, RowMapping]:
        rows = await self.session.execute(_SHIPMENT_FACTS, {"ids": list(shipment_ids)})
        return {row["id"]: row for row in rows.mappings()}

    async def hub_point(self, hub_id: UUID) -> tuple[float, float] | None:
        row = (
            await self.session.execute(
                text(
                    "SELECT ST_X(location::geometry), ST_Y(location::geometry) FROM hubs"
                    " WHERE id = :id"
                ),
                {"id": hub_id},
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def courier_reasons(
        self,
        anchor: tuple[float, float],
        radius_m: float | None,
        ids: list[UUID] | None,
        slot: tuple[int, str, str] | None,
        parcels: int,
        weight_kg: float,
    ) -> list[asyncpg.Record]:
        connection = await raw_connection(self.session)
        # JIT compiling costs more than this query over thousands of couriers takes.
        await connection.execute("SET LOCAL jit = off")
        weekday, start, end = slot or (None, None, None)
        return await connection.fetch(
            _COURIER_REASONS,
            *anchor,
            radius_m,
            ids is None,
            ids or [],
            weekday,
            start,
            end,
            parcels,
            weight_kg,
        )

    async def lock_shipments(self, shipment_ids: list[UUID]) -> None:
        """Row locks (in id order) so that two offers of the same work made at once take turns
        and the second sees the first."""
        await (await raw_connection(self.session)).execute(
            "SELECT id FROM shipments WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            shipment_ids,
        )

    async def open_offer_for(self, route_id: UUID | None, shipment_ids: list[UUID]) -> bool:
        """Whether an open offer already holds this route or any of these shipments."""
        row = await self.session.scalar(
            text("""
                SELECT EXISTS (SELECT 1 FROM offers WHERE status = 'open' AND (
                    route_id = :route_id OR shipment_ids ?| CAST(:ids AS text[])))
            """),
            {"route_id": route_id, "ids": [str(i) for i in shipment_ids]},
        )
        return bool(row)

    def add(self, *objects: object) -> None:
        self.session.add_all(objects)

    async def add_recipients(self, offer_id: UUID, driver_ids: list[UUID]) -> None:
        await (await raw_connection(self.session)).execute(
            "INSERT INTO offer_recipients (offer_id, driver_id) SELECT $1, unnest($2::uuid[])",
            offer_id,
            driver_ids,
        )

    async def flush(self) -> None:
        await self.session.flush()

    async def offer(self, offer_id: UUID) -> Offer | None:
        return await self.session.get(Offer, offer_id, populate_existing=True)

    async def recipients(self, offer_id: UUID) -> list[OfferRecipient]:
        return list(
            await self.session.scalars(
                select(OfferRecipient)
                .where(OfferRecipient.offer_id == offer_id)
                .order_by(OfferRecipient.driver_id)
            )
        )

    async def recipient(self, offer_id: UUID, driver_id: UUID) -> OfferRecipient | None:
        return await self.session.get(OfferRecipient, (offer_id, driver_id))

    async def take(self, offer_id: UUID, driver_id: UUID, now: datetime) -> bool:
        """The one atomic step of acceptance: open and unexpired -> accepted by this courier.
        Concurrent accepts queue on the row lock; after the first commits, the others' WHERE
        no longer matches, so exactly one wins."""
        taken = await self.session.execute(
            update(Offer)
            .where(Offer.id == offer_id, Offer.status == "open", Offer.expires_at > now)
            .values(status="accepted", winner_driver_id=driver_id, closed_at=now)
            .returning(Offer.id)
        )
        return taken.first() is not None

    async def close(self, offer_id: UUID, status: str, now: datetime) -> bool:
        closed = await self.session.execute(
            update(Offer)
            .where(Offer.id == offer_id, Offer.status == "open")
            .values(status=status, closed_at=now)
            .returning(Offer.id)
        )
        return closed.first() is not None

    async def expire_due(self, now: datetime) -> list[Offer]:
        rows = await self.session.scalars(
            update(Offer)
            .where(Offer.status == "open", Offer.expires_at <= now)
            .values(status="expired", closed_at=now)
            .returning(Offer)
        )
        return list(rows)

    async def recipients_of(self, offer_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
        rows = await self.session.execute(
            select(OfferRecipient.offer_id, OfferRecipient.driver_id).where(
                OfferRecipient.offer_id.in_(list(offer_ids))
            )
        )
        found: dict[UUID, list[UUID]] = {}
        for offer_id, driver_id in rows:
            found.setdefault(offer_id, []).append(driver_id)
        return found

    async def page(self, *, after: UUID | None, limit: int, status: str | None) -> list[Offer]:
        query = select(Offer).order_by(Offer.id).limit(limit)
        if after:
            query = query.where(Offer.id > after)
        if status:
            query = query.where(Offer.status == status)
        return list(await self.session.scalars(query))

    async def mine(
        self, driver_id: UUID, *, after: UUID | None, limit: int, status: str | None
    ) -> list[tuple[Offer, OfferRecipient]]:
        query = (
            select(Offer, OfferRecipient)
            .join(OfferRecipient, OfferRecipient.offer_id == Offer.id)
            .where(OfferRecipient.driver_id == driver_id)
            .order_by(Offer.id)
            .limit(limit)
        )
        if after:
            query = query.where(Offer.id > after)
        if status:
            query = query.where(Offer.status == status)
        return [tuple(row) for row in await self.session.execute(query)]  # type: ignore[misc]
