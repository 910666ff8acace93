"""Webhook SQL. Fan-out and claims are one statement each for any number of rows."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

# Endpoints that want an event of type `{type}` about shipment `s`: its shipper's, its
# carrier's and the admins' (organisation NULL).
_ENDPOINTS_FOR_SHIPMENT = """
    ARRAY(SELECT e.id FROM webhook_endpoints e
          WHERE e.enabled AND {type} = ANY(e.event_types)
            AND (e.organization_id IS NULL OR e.organization_id = s.shipper_id
                 OR e.organization_id = s.carrier_id)
          ORDER BY e.id)
"""
_TIMESTAMP = """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    # fan-out (in the transaction of the change) ----------------------------------------------

    async def lock_shipments(self, shipment_ids: Sequence[UUID]) -> None:
        """The row locks that order a shipment's sequence numbers (id order, as every writer)."""
        await (await self.raw()).execute(
            "SELECT 1 FROM shipments WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE",
            list(shipment_ids),
        )

    async def shipment_events(self, entries: Sequence[tuple[UUID, str, str, str | None]]) -> int:
        """(shipment_id, type, extra data as JSON, previous status) per event, in order. Only
        events some endpoint wants are stored, each numbered on from its shipment's last
        `sequence`, its body built once here; then a delivery per wanting endpoint. Callers hold
        the shipments' row locks. Returns the deliveries made."""
        if not entries:
            return 0
        return await (await self.raw()).fetchval(
            f"""
            WITH input AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
                    WITH ORDINALITY AS i(shipment_id, type, extra, previous, ord)
            ), wanted AS (
                SELECT i.*, s.reference, s.tracking_number, s.status, s.delivered_at,
                       {_ENDPOINTS_FOR_SHIPMENT.format(type="i.type")} AS endpoints
                FROM input i JOIN shipments s ON s.id = i.shipment_id
            ), numbered AS (
                SELECT w.*, lastmile_uuid7() AS event_id,
                       COALESCE((SELECT max(we.sequence) FROM webhook_events we
                                 WHERE we.shipment_id = w.shipment_id), 0)
                       + row_number() OVER (PARTITION BY w.shipment_id ORDER BY w.ord) AS sequence
                FROM wanted w WHERE cardinality(w.endpoints) > 0
            ), events AS (
                INSERT INTO webhook_events (id, type, shipment_id, sequence, body)
                SELECT n.event_id, n.type, n.shipment_id, n.sequence, convert_to(jsonb_build_object(
                    'type', n.type,
                    'timestamp', {_TIMESTAMP},
                    'data', jsonb_strip_nulls(jsonb_build_object(
                        'shipment_id', n.shipment_id, 'reference', n.reference,
                        'tracking_number', n.tracking_number, 'status', n.status,
                        'previous_status', n.previous, 'sequence', n.sequence,
                        'occurred_at', COALESCE(
                            CASE WHEN n.type = 'shipment.delivered' THEN n.delivered_at END,
                            (SELECT max(se.effective_at) FROM shipment_events se
                             WHERE se.shipment_id = n.shipment_id),
                            now())
                    )) || n.extra::jsonb
                )::text, 'UTF8')
                FROM numbered n
                RETURNING id
            ), deliveries AS (
                INSERT INTO webhook_deliveries (id, event_id, endpoint_id)
                SELECT lastmile_uuid7(), n.event_id, unnest(n.endpoints)
                FROM numbered n WHERE n.event_id IN (SELECT id FROM events)
                RETURNING 1
            )
            SELECT count(*) FROM deliveries
            """,
            [e[0] for e in entries],
            [e[1] for e in entries],
            [e[2] for e in entries],
            [e[3] for e in entries],
        )

    async def other_events(self, entries: Sequence[tuple[str, str, UUID | None]]) -> int:
        """(type, data as JSON, organisation or None) per event not about one shipment: for
        the admins' endpoints, and the named organisation's."""
        if not entries:
            return 0
        return await (await self.raw()).fetchval(
            f"""
            WITH input AS (
                SELECT i.*, lastmile_uuid7() AS event_id,
                       ARRAY(SELECT e.id FROM webhook_endpoints e
                             WHERE e.enabled AND i.type = ANY(e.event_types)
                               AND (e.organization_id IS NULL OR e.organization_id = i.org)
                             ORDER BY e.id) AS endpoints
                FROM unnest($1::text[], $2::text[], $3::uuid[]) AS i(type, data, org)
            ), events AS (
                INSERT INTO webhook_events (id, type, body)
                SELECT event_id, type, convert_to(jsonb_build_object(
                    'type', type, 'timestamp', {_TIMESTAMP}, 'data', data::jsonb)::text, 'UTF8')
                FROM input WHERE cardinality(endpoints) > 0
                RETURNING id
            ), deliveries AS (
                INSERT INTO webhook_deliveries (id, event_id, endpoint_id)
                SELECT lastmile_uuid7(), i.event_id, unnest(i.endpoints)
                FROM input i WHERE i.event_id IN (SELECT id FROM events)
                RETURNING 1
            )
            SELECT count(*) FROM deliveries
            """,
            [e[0] for e in entries],
            [e[1] for e in entries],
            [e[2] for e in entries],
        )

    # endpoints -------------------------------------------------------------------------------

    async def add(self, row: Any) -> None:
        self.session.add(row)
        await self.session.flush()

    async def endpoint(
        self, endpoint_id: UUID, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update)

    async def endpoints(
        self, organization_id: UUID | None, every: bool, after: UUID | None, limit: int
    ) -> Sequence[WebhookEndpoint]:
        query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
        if not every:
            query = query.where(WebhookEndpoint.organization_id == organization_id)
        if after:
            query = query.where(WebhookEndpoint.id > after)
        return (await self.session.scalars(query)).all()

    async def delete_endpoint(self, endpoint_id: UUID) -> None:
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
        await self.session.execute(
            delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries))
        )
        await self.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        )
        await self.session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))

    # deliveries ------------------------------------------------------------------------------

    async def deliveries(
        self,
        *,
        organization_id: UUID | None,
        every: bool,
        endpoint_id: UUID | None,
        status: str | None,
        shipment_id: UUID | None,
        after: UUID | None,
        limit: int,
    ) -> list[Any]:
        query = (
            select(WebhookDelivery, WebhookEvent.type, WebhookEvent.shipment_id)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
        if not every:
            query = query.where(WebhookEndpoint.organization_id == organization_id)
        if endpoint_id:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        if status:
            query = query.where(WebhookDelivery.status == status)
        if shipment_id:
            query = query.where(WebhookEvent.shipment_id == shipment_id)
        if after:
            query = query.where(WebhookDelivery.id > after)
        return list((await self.session.execute(query)).all())

    async def delivery(self, delivery_id: UUID) -> Any:
        query = (
            select(
                WebhookDelivery,
                WebhookEvent.type,
                WebhookEvent.shipment_id,
                WebhookEndpoint.organization_id,
            )
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id == delivery_id)
        )
        return (await self.session.execute(query)).first()

    async def attempts(self, delivery_id: UUID) -> Sequence[WebhookAttempt]:
        query = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempt, WebhookAttempt.id)
        )
        return (await self.session.scalars(query)).all()

    async def requeue(self, endpoint_id: UUID, event_ids: Sequence[UUID]) -> list[UUID]:
        """New deliveries of these events to the endpoint (same events: same `webhook-id`)."""
        rows = await (await self.raw()).fetch(
            """
            INSERT INTO webhook_deliveries (id, event_id, endpoint_id)
            SELECT lastmile_uuid7(), e, $1 FROM unnest($2::uuid[]) WITH ORDINALITY AS u(e, o)
            ORDER BY o
            RETURNING id
            """,
            endpoint_id,
            list(event_ids),
        )
        return [row["id"] for row in rows]

    async def events_since(self, endpoint_id: UUID, since: datetime, limit: int) -> list[UUID]:
        """The events this endpoint was sent (or meant to be) since `since`, oldest first."""
        rows = await (await self.raw()).fetch(
            """
            SELECT e.id FROM webhook_events e
            WHERE e.created_at >= $2 AND EXISTS (
                SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.endpoint_id = $1)
            ORDER BY e.created_at, e.id LIMIT $3
            """,
            endpoint_id,
            since,
            limit,
        )
        return [row["id"] for row in rows]
