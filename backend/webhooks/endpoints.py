"""Webhook endpoints and their deliveries, as their owners manage and inspect them.

An organisation's key manages its own endpoints; an admin manages any, and may make endpoints
of its own (no organisation) that receive every event. Anything else is 404.
"""

from datetime import datetime, timedelta
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.lib.clock import utcnow
from backend.lib.errors import Invalid, NotFound
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.partners.service import OrganizationService
from backend.webhooks.models import WebhookEndpoint
from backend.webhooks.repository import WebhookRepository
from backend.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    ReplayResult,
    SecretRotated,
)
from backend.webhooks.signing import message_id, new_secret
from backend.webhooks.ssrf import check_destination

ROTATION_OVERLAP = timedelta(hours=24)
MAX_REPLAY = 10_000


class EndpointService:
    def __init__(self, session: AsyncSession, *, allow_private: bool = False) -> None:
        self.session = session
        self.repo = WebhookRepository(session)
        self.allow_private = allow_private

    async def create(self, data: EndpointCreate, principal: Principal) -> EndpointCreated:
        if data.organization_id and principal.role != "admin":
            raise Invalid("Only admins name the organisation", field="organization_id")
        await check_destination(data.url, self.allow_private)
        owner = principal.organization_id or data.organization_id
        if owner and principal.role == "admin":
            await self._require_organization(owner)
        endpoint = WebhookEndpoint(
            organization_id=owner,
            url=data.url,
            event_types=sorted(set(data.event_types)),
            description=data.description,
            secret=new_secret(),
        )
        await self.repo.add(endpoint)
        await self.session.refresh(endpoint)
        return EndpointCreated(id=endpoint.id, secret=endpoint.secret, endpoint=_read(endpoint))

    async def page(
        self, principal: Principal, cursor: str | None, limit: int
    ) -> Page[EndpointRead]:
        rows = await self.repo.endpoints(
            principal.organization_id, principal.role == "admin", decode_cursor(cursor), limit + 1
        )
        return page_of([_read(e) for e in rows], limit, lambda e: e.id)

    async def get(self, endpoint_id: UUID, principal: Principal) -> EndpointRead:
        return _read(await self.owned(endpoint_id, principal))

    async def update(
        self, endpoint_id: UUID, data: EndpointUpdate, principal: Principal
    ) -> EndpointRead:
        endpoint = await self.owned(endpoint_id, principal, for_update=True)
        if data.url is not msgspec.UNSET:
            await check_destination(data.url, self.allow_private)
            endpoint.url = data.url
        if data.event_types is not msgspec.UNSET:
            endpoint.event_types = sorted(set(data.event_types))
        if data.description is not msgspec.UNSET:
            endpoint.description = data.description
        return await self._saved(endpoint)

    async def set_enabled(
        self, endpoint_id: UUID, enabled: bool, principal: Principal
    ) -> EndpointRead:
        endpoint = await self.owned(endpoint_id, principal, for_update=True)
        endpoint.enabled = enabled
        endpoint.disabled_reason = None if enabled else "disabled_by_owner"
        if enabled:
            endpoint.failing_since = None
        return await self._saved(endpoint)

    async def rotate_secret(self, endpoint_id: UUID, principal: Principal) -> SecretRotated:
        """A new secret signs from now on; the old one signs too for 24 h."""
        endpoint = await self.owned(endpoint_id, principal, for_update=True)
        expires = utcnow() + ROTATION_OVERLAP
        endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
        endpoint.previous_secret_expires_at = expires
        await self._saved(endpoint)
        return SecretRotated(secret=endpoint.secret, previous_secret_expires_at=expires)

    async def delete(self, endpoint_id: UUID, principal: Principal) -> None:
        await self.owned(endpoint_id, principal, for_update=True)
        await self.repo.delete_endpoint(endpoint_id)

    async def replay(
        self, endpoint_id: UUID, since: datetime, principal: Principal
    ) -> ReplayResult:
        """Send again every event this endpoint was meant to get since `since` (same ids)."""
        await self.owned(endpoint_id, principal)
        events = await self.repo.events_since(endpoint_id, since, MAX_REPLAY + 1)
        truncated = len(events) > MAX_REPLAY
        created = await self.repo.requeue(endpoint_id, events[:MAX_REPLAY])
        return ReplayResult(deliveries=len(created), truncated=truncated)

    async def owned(
        self, endpoint_id: UUID, principal: Principal, *, for_update: bool = False
    ) -> WebhookEndpoint:
        endpoint = await self.repo.endpoint(endpoint_id, for_update=for_update)
        if endpoint is None or not _may_manage(endpoint.organization_id, principal):
            raise NotFound("No such webhook endpoint")
        return endpoint

    async def _saved(self, endpoint: WebhookEndpoint) -> EndpointRead:
        endpoint.updated_at = utcnow()
        await self.session.flush()
        return _read(endpoint)

    async def _require_organization(self, organization_id: UUID) -> None:
        try:
            await OrganizationService(self.session).require(organization_id)
        except NotFound:
            raise Invalid("No such organization", field="organization_id") from None


class DeliveryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = WebhookRepository(session)

    async def page(
        self,
        principal: Principal,
        *,
        endpoint_id: UUID | None,
        status: str | None,
        shipment_id: UUID | None,
        cursor: str | None,
        limit: int,
    ) -> Page[DeliveryRead]:
        rows = await self.repo.deliveries(
            organization_id=principal.organization_id,
            every=principal.role == "admin",
            endpoint_id=endpoint_id,
            status=status,
            shipment_id=shipment_id,
            after=decode_cursor(cursor),
            limit=limit + 1,
        )
        return page_of([_delivery(*row) for row in rows], limit, lambda d: d.id)

    async def attempts(self, delivery_id: UUID, principal: Principal) -> list[AttemptRead]:
        await self._owned(delivery_id, principal)
        return [
            AttemptRead(
                attempt=a.attempt,
                started_at=a.started_at,
                duration_ms=a.duration_ms,
                status_code=a.status_code,
                error=a.error,
                response_body=a.response_body,
            )
            for a in await self.repo.attempts(delivery_id)
        ]

    async def redeliver(self, delivery_id: UUID, principal: Principal) -> DeliveryRead:
        """A new delivery of the same event to the same endpoint, due now (same webhook-id)."""
        row = await self._owned(delivery_id, principal)
        delivery = row[0]
        [new_id] = await self.repo.requeue(delivery.endpoint_id, [delivery.event_id])
        fresh = await self.repo.delivery(new_id)
        return _delivery(fresh[0], fresh[1], fresh[2])

    async def _owned(self, delivery_id: UUID, principal: Principal):
        row = await self.repo.delivery(delivery_id)
        if row is None or not _may_manage(row[3], principal):
            raise NotFound("No such webhook delivery")
        return row


def _may_manage(owner: UUID | None, principal: Principal) -> bool:
    if principal.role == "admin":
        return True
    return principal.organization_id is not None and owner == principal.organization_id


def _read(endpoint: WebhookEndpoint) -> EndpointRead:
    return EndpointRead(
        id=endpoint.id,
        organization_id=endpoint.organization_id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        failing_since=endpoint.failing_since,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def _delivery(delivery, event_type: str, shipment_id: UUID | None) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        webhook_id=message_id(delivery.event_id),
        type=event_type,
        shipment_id=shipment_id,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
    )
