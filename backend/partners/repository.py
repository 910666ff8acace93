from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy import Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.partners.models import CARRIER_KINDS, ApiKey, Organization


class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # organisations ---------------------------------------------------------------------------

    async def add(self, row: Any) -> None:
        self.session.add(row)
        await self.session.flush()

    async def organization(self, organization_id: UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def organizations(self, after: UUID | None, limit: int) -> Sequence[Organization]:
        query = select(Organization).order_by(Organization.id).limit(limit)
        if after:
            query = query.where(Organization.id > after)
        return (await self.session.scalars(query)).all()

    async def carriers_covering(self, shipment_ids: Sequence[UUID]) -> Sequence[Row[Any]]:
        """(shipment_id, organization_id) for each active carrier whose service area covers a
        shipment's delivery point, by carrier name then id."""
        rows = await self.session.execute(
            text(
                """
                SELECT s.id AS shipment_id, o.id AS organization_id
                FROM shipments s
                JOIN organizations o ON o.active AND o.kind = ANY(CAST(:kinds AS text[]))
                 AND o.service_area IS NOT NULL
                 AND ST_Covers(o.service_area, s.location::geometry)
                WHERE s.id = ANY(CAST(:ids AS uuid[]))
                ORDER BY o.name, o.id, s.id
                """
            ),
            {"ids": list(shipment_ids), "kinds": list(CARRIER_KINDS)},
        )
        return rows.all()

    # keys ------------------------------------------------------------------------------------

    async def keys(self, organization_id: UUID) -> Sequence[ApiKey]:
        query = select(ApiKey).where(ApiKey.organization_id == organization_id).order_by(ApiKey.id)
        return (await self.session.scalars(query)).all()

    async def key(self, organization_id: UUID, key_id: UUID) -> ApiKey | None:
        key = await self.session.get(ApiKey, key_id, with_for_update=True)
        return key if key and key.organization_id == organization_id else None

    async def live_key(self, prefix: str, now: datetime) -> Row[Any] | None:
        query = (
            select(
                ApiKey.id,
                ApiKey.organization_id,
                ApiKey.secret_hash,
                ApiKey.scopes,
                ApiKey.last_used_at,
                Organization.kind,
            )
            .join(Organization, Organization.id == ApiKey.organization_id)
            .where(
                ApiKey.prefix == prefix,
                ApiKey.revoked_at.is_(None),
                (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
                Organization.active,
            )
        )
        return (await self.session.execute(query)).first()

    async def touch_key(self, key_id: UUID, now: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now)
        )


class PartnerEventRepository:
    """SQL of inbound partner events: each statement covers the whole call."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def resolve(
        self, organization_id: UUID, shipment_ids: list[UUID | None], barcodes: list[str | None]
    ) -> list[UUID | None]:
        """Per reference, the shipment it names if it was handed over to this carrier."""
        rows = await (await self.raw()).fetch(
            """
            SELECT r.i, s.id FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS r(sid, bc, i)
            LEFT JOIN LATERAL (
                SELECT p.shipment_id FROM parcels p WHERE p.barcode = r.bc LIMIT 1
            ) p ON true
            LEFT JOIN shipments s ON s.id = COALESCE(r.sid, p.shipment_id) AND s.carrier_id = $1
                AND (r.sid IS NULL OR p.shipment_id IS NULL OR r.sid = p.shipment_id)
            ORDER BY r.i
            """,
            organization_id,
            shipment_ids,
            barcodes,
        )
        return [row["id"] for row in rows]

    async def insert(
        self, organization_id: UUID, rows: Sequence[tuple[Any, ...]], received_at: datetime
    ) -> tuple[dict[UUID, str], dict[UUID, str]]:
        """Store new events (event_id, seq, type, shipment, hash, occurred, effective, body)
        and lock their shipments in id order. Returns {new event id: its `data` as PostgreSQL
        prints it} and {shipment: status}."""
        encoded = msgspec.json.encode([(*row[:7], msgspec.Raw(row[7])) for row in rows])
        result = await (await self.raw()).fetch(
            """
            WITH input AS (
                SELECT (e ->> 0)::uuid AS event_id, (e ->> 1)::bigint AS seq, e ->> 2 AS type,
                       (e ->> 3)::uuid AS shipment_id, decode(e ->> 4, 'base64') AS content_hash,
                       (e ->> 5)::timestamptz AS occurred_at,
                       (e ->> 6)::timestamptz AS effective_at, e -> 7 AS body
                FROM jsonb_array_elements($1::text::jsonb) AS e
            ), inbox AS (
                INSERT INTO partner_events (event_id, organization_id, seq, type, shipment_id,
                    content_hash, occurred_at, effective_at, received_at, body)
                SELECT event_id, $2, seq, type, shipment_id, content_hash, occurred_at,
                       effective_at, $3, body
                FROM input ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id, COALESCE(body -> 'data', '{}')::text AS data
            ), locked AS (
                SELECT s.id, s.status FROM shipments s
                WHERE s.id IN (SELECT shipment_id FROM input) ORDER BY s.id FOR NO KEY UPDATE
            )
            SELECT event_id, data, NULL::uuid AS shipment_id, NULL AS status FROM inbox
            UNION ALL SELECT NULL, NULL, id, status FROM locked
            """,
            encoded.decode(),
            organization_id,
            received_at,
        )
        new = {r["event_id"]: r["data"] for r in result if r["event_id"] is not None}
        locked = {r["shipment_id"]: r["status"] for r in result if r["shipment_id"]}
        return new, locked

    async def stored(self, event_ids: list[UUID]) -> dict[UUID, tuple[UUID, bytes]]:
        rows = await (await self.raw()).fetch(
            "SELECT event_id, organization_id, content_hash FROM partner_events"
            " WHERE event_id = ANY($1::uuid[])",
            event_ids,
        )
        return {r["event_id"]: (r["organization_id"], r["content_hash"]) for r in rows}

    async def quarantine(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(organization, event_id, reason, detail, raw json text)."""
        if rows:
            await (await self.raw()).executemany(
                "INSERT INTO partner_quarantined_events"
                " (organization_id, event_id, reason, detail, raw)"
                " VALUES ($1, $2, $3, $4, $5::text::jsonb)",
                rows,
            )
