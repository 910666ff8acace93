from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from msgspec import Raw
from msgspec.json import decode as json_decode
from msgspec.json import encode as json_encode
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Float

from backend.db.session import raw_connection
from backend.network.models import Hub
from backend.pod.chain import EVENT_FIELDS
from backend.shipments.models import Parcel, Shipment, ShipmentEvent
from backend.shipments.schemas import ShipmentLookup

_ZONES_FOR_POINTS = text(
    """
    SELECT z.id
    FROM unnest(:lons, :lats) WITH ORDINALITY AS p(lon, lat, i)
    LEFT JOIN LATERAL (
        SELECT zones.id FROM zones
        WHERE ST_Contains(zones.area, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
        ORDER BY ST_Area(zones.area), zones.id
        LIMIT 1
    ) z ON true
    ORDER BY p.i
    """
).bindparams(bindparam("lons", type_=ARRAY(Float)), bindparam("lats", type_=ARRAY(Float)))

# Events inserted already linked, from $9: a JSON array of [EVENT_FIELDS..., chain_seq,
# chain_hash (base64)]. One JSON document rather than fourteen arrays: msgspec encodes it far
# faster than asyncpg encodes arrays, and `data` travels as the JSON it is.
_JSON_FIELDS = ("data", "anomalies")
_INSERT_LINKED = """
    INSERT INTO shipment_events (id, shipment_id, source, type, actor_id, device_id, seq,
                                 occurred_at, effective_at, received_at, data, anomalies,
                                 chain_seq, chain_hash)
    SELECT (e ->> 0)::uuid, (e ->> 1)::uuid, e ->> 2, e ->> 3, (e ->> 4)::uuid, e ->> 5,
           (e ->> 6)::bigint, (e ->> 7)::timestamptz, (e ->> 8)::timestamptz,
           (e ->> 9)::timestamptz, e -> 10, e -> 11, (e ->> 12)::int, decode(e ->> 13, 'base64')
    FROM jsonb_array_elements($9::text::jsonb) AS e
"""

# (event id, chain_seq, chain_hash) from $1..$3.
_SAVE_LINKS = """
    UPDATE shipment_events e SET chain_seq = u.seq, chain_hash = u.hash
    FROM unnest($1::uuid[], $2::int[], $3::bytea[]) AS u(id, seq, hash)
    WHERE e.id = u.id
"""

# (id, status, attempts, delivered_at, event_count) from $4..$8, after the links' $1..$3.
_SAVE_STATES = """
    UPDATE shipments s SET status = u.status, attempts = u.attempts,
        delivered_at = u.delivered_at, event_count = u.event_count, updated_at = now()
    FROM unnest($4::uuid[], $5::text[], $6::int[], $7::timestamptz[], $8::int[])
        AS u(id, status, attempts, delivered_at, event_count)
    WHERE s.id = u.id
"""


def _logged(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """An appended row's chained fields, in order; `data` and `anomalies` are JSON already."""
    return tuple(Raw(row[name]) if name in _JSON_FIELDS else row[name] for name in EVENT_FIELDS)


class ShipmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, shipments: list[dict[str, Any]], parcels: list[dict[str, Any]]) -> None:
        await self.session.execute(insert(Shipment), shipments)
        await self.session.execute(insert(Parcel), parcels)

    async def append_events(self, events: list[dict[str, Any]]) -> None:
        if events:
            await self.session.execute(insert(ShipmentEvent), events)

    async def zones_for_points(self, points: list[tuple[float, float]]) -> list[UUID | None]:
        """For each (lon, lat), the smallest zone containing it, in one round trip."""
        result = await self.session.execute(
            _ZONES_FOR_POINTS, {"lons": [p[0] for p in points], "lats": [p[1] for p in points]}
        )
        return [row[0] for row in result]

    async def taken_barcodes(self, barcodes: list[str]) -> set[str]:
        query = select(Parcel.barcode).where(Parcel.barcode.in_(barcodes))
        return set((await self.session.scalars(query)).all())

    async def taken_references(
        self, shipper_id: UUID | None, references: list[str]
    ) -> dict[str, UUID | None]:
        """{reference: the shipment of this shipper that has it}."""
        if not references:
            return {}
        query = select(Shipment.reference, Shipment.id).where(
            Shipment.shipper_id.is_not_distinct_from(shipper_id),
            Shipment.reference.in_(references),
        )
        return {row.reference: row.id for row in await self.session.execute(query)}

    async def owned_by(self, shipment_id: UUID, organization_id: UUID) -> bool:
        """Whether the organisation sent the shipment (shipper) or holds it (carrier)."""
        query = select(Shipment.id).where(
            Shipment.id == shipment_id,
            (Shipment.shipper_id == organization_id) | (Shipment.carrier_id == organization_id),
        )
        return (await self.session.scalar(query)) is not None

    async def known_hubs(self, hub_ids: set[UUID]) -> set[UUID]:
        query = select(Hub.id).where(Hub.id.in_(hub_ids))
        return set((await self.session.scalars(query)).all())

    async def get(self, shipment_id: UUID, *, for_update: bool = False) -> Shipment | None:
        return await self.session.get(Shipment, shipment_id, with_for_update=for_update)

    async def lock(self, shipment_ids: Sequence[UUID]) -> Sequence[Shipment]:
        """Lock rows in id order, so concurrent writers never deadlock."""
        query = (
            select(Shipment)
            .where(Shipment.id.in_(shipment_ids))
            .order_by(Shipment.id)
            .with_for_update()
        )
        return (await self.session.scalars(query)).all()

    async def by_ids(self, shipment_ids: Sequence[UUID]) -> Sequence[Shipment]:
        query = (
            select(Shipment)
            .where(Shipment.id.in_(shipment_ids))
            .order_by(Shipment.id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(query)).all()

    async def parcels_for(self, shipment_ids: Sequence[UUID]) -> Sequence[Parcel]:
        query = (
            select(Parcel)
            .where(Parcel.shipment_id.in_(shipment_ids))
            .order_by(Parcel.shipment_id, Parcel.barcode)
        )
        return (await self.session.scalars(query)).all()

    async def page(
        self,
        *,
        after: UUID | None,
        limit: int,
        status: str | None,
        hub_id: UUID | None,
        zone_id: UUID | None,
        lookup: ShipmentLookup,
        organization_id: UUID | None,
    ) -> Sequence[Shipment]:
        query = select(Shipment).order_by(Shipment.id).limit(limit)
        if organization_id:
            query = query.where(
                (Shipment.shipper_id == organization_id) | (Shipment.carrier_id == organization_id)
            )
        if lookup.reference:
            query = query.where(Shipment.reference == lookup.reference)
        if lookup.tracking_number:
            query = query.where(Shipment.tracking_number == lookup.tracking_number)
        if lookup.barcode:
            query = query.where(
                Shipment.id.in_(select(Parcel.shipment_id).where(Parcel.barcode == lookup.barcode))
            )
        if after:
            query = query.where(Shipment.id > after)
        if status:
            query = query.where(Shipment.status == status)
        if hub_id:
            query = query.where(Shipment.hub_id == hub_id)
        if zone_id:
            query = query.where(Shipment.zone_id == zone_id)
        return (await self.session.scalars(query)).all()

    async def raw(self) -> asyncpg.Connection:
        """The asyncpg connection of this transaction, for set-based statements on hot paths."""
        return await raw_connection(self.session)

    async def lock_statuses(self, shipment_ids: Sequence[UUID]) -> dict[UUID, str]:
        """Lock rows in id order (so concurrent writers never deadlock); current statuses.

        `FOR NO KEY UPDATE`, the lock the fold's own UPDATE takes: writers of the shipment still
        take turns, but rows that merely reference it (notifications the outbox worker claims,
        PODs, events) are not held up, as `FOR UPDATE` would hold them up (and they it)."""
        rows = await (await self.raw()).fetch(
            "SELECT id, status FROM shipments WHERE id = ANY($1::uuid[])"
            " ORDER BY id FOR NO KEY UPDATE",
            list(shipment_ids),
        )
        return {row["id"]: row["status"] for row in rows}

    async def statuses(self, shipment_ids: Sequence[UUID]) -> dict[UUID, str]:
        rows = await (await self.raw()).fetch(
            "SELECT id, status FROM shipments WHERE id = ANY($1::uuid[])", list(shipment_ids)
        )
        return {row["id"]: row["status"] for row in rows}

    async def fold_inputs(self, shipment_ids: Sequence[UUID]) -> list[asyncpg.Record]:
        """Every event of these shipments with what the fold reads; sealed ones with their chain
        link (`chain_seq`, `chain_hash`), unsealed ones with every field the chain hashes
        (`data` and `anomalies` as JSON text; NULL for sealed rows, which need none)."""
        return await (await self.raw()).fetch(
            """
            SELECT shipment_id, id, type, source, effective_at, device_id, seq, received_at,
                   chain_seq, chain_hash,
                   CASE WHEN chain_hash IS NULL THEN actor_id END AS actor_id,
                   CASE WHEN chain_hash IS NULL THEN occurred_at END AS occurred_at,
                   CASE WHEN chain_hash IS NULL THEN data::text END AS data,
                   CASE WHEN chain_hash IS NULL THEN anomalies::text END AS anomalies
            FROM shipment_events WHERE shipment_id = ANY($1::uuid[])
            """,
            list(shipment_ids),
        )

    async def save_folds(
        self,
        links: list[tuple[UUID, int, bytes]],
        states: list[tuple[UUID, str, int, Any, int]],
        appended: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Chain links (event id, chain_seq, chain_hash) and projections (id, status, attempts,
        delivered_at, event_count), in one statement. The `appended` events (see `refold`) are
        inserted with their links; the other links update stored events."""
        new = {row["id"]: row for row in appended}
        inserted = [
            (*_logged(new[event_id]), seq, digest)
            for event_id, seq, digest in links
            if event_id in new
        ]
        updated = [link for link in links if link[0] not in new]
        link_columns = [list(column) for column in zip(*updated, strict=True)] or [[], [], []]
        state_columns = [list(column) for column in zip(*states, strict=True)] or [[]] * 5
        await (await self.raw()).execute(
            f"""
            WITH logged AS ({_INSERT_LINKED}), linked AS ({_SAVE_LINKS})
            {_SAVE_STATES}
            """,
            *link_columns,
            *state_columns,
            json_encode(inserted).decode(),
        )

    async def unsealed_events(self, shipment_ids: Sequence[UUID]) -> list[dict[str, Any]]:
        """Events not yet linked into their shipment's audit chain, in arrival order (a write's
        own events by device seq, then id), each with its shipment's current chain head."""
        rows = await (await self.raw()).fetch(
            """
            SELECT e.id, e.shipment_id, e.source, e.type, e.actor_id, e.device_id, e.seq,
                   e.occurred_at, e.effective_at, e.received_at, e.data::text AS data,
                   e.anomalies::text AS anomalies,
                   head.chain_seq AS head_seq, head.chain_hash AS head_hash
            FROM shipment_events e
            LEFT JOIN LATERAL (
                SELECT h.chain_seq, h.chain_hash FROM shipment_events h
                WHERE h.shipment_id = e.shipment_id AND h.chain_seq IS NOT NULL
                ORDER BY h.chain_seq DESC LIMIT 1
            ) head ON true
            WHERE e.shipment_id = ANY($1::uuid[]) AND e.chain_hash IS NULL
            ORDER BY e.shipment_id, e.received_at, e.seq NULLS FIRST, e.id
            """,
            list(shipment_ids),
        )
        return [
            dict(row)
            | {"data": json_decode(row["data"]), "anomalies": json_decode(row["anomalies"])}
            for row in rows
        ]

    async def save_links(self, links: list[tuple[UUID, int, bytes]]) -> None:
        """One UPDATE for the set: (event id, chain_seq, chain_hash)."""
        if not links:
            return
        columns = [list(column) for column in zip(*links, strict=True)]
        await (await self.raw()).execute(_SAVE_LINKS, *columns)

    async def events_for(self, shipment_ids: Sequence[UUID]) -> Sequence[ShipmentEvent]:
        query = select(ShipmentEvent).where(ShipmentEvent.shipment_id.in_(shipment_ids))
        return (await self.session.scalars(query)).all()
