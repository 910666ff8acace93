from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from backend.auth.guards import requires, requires_scope
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Invalid
from backend.lib.openapi import raises
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.webhooks.endpoints import DeliveryService, EndpointService
from backend.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    ReplayRequest,
    ReplayResult,
    SecretRotated,
)

# Admins manage every endpoint; an organisation's key (scope webhooks:manage) its own.
MANAGERS = [requires("admin", "shipper", "carrier"), requires_scope("webhooks:manage")]
Me = Request[Principal, Any, Any]


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]
    guards = MANAGERS

    @post(opt=raises((Invalid, "invalid", "url_not_allowed")))
    async def create(
        self,
        data: JSONBody[EndpointCreate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        request: Me,
    ) -> EndpointCreated:
        """Create a webhook endpoint.

        A receiver for the named event types; the answer holds its `whsec_` secret."""
        service = EndpointService(db_session, allow_private=settings.webhooks_allow_private)
        return await service.create(data, request.user)

    @get()
    async def list_endpoints(
        self,
        db_session: DbSession,
        request: Me,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[EndpointRead]:
        """List webhook endpoints: staff see all, an organisation's key its own."""
        return await EndpointService(db_session).page(request.user, cursor, limit)

    @get("/{endpoint_id:uuid}")
    async def get_endpoint(
        self, endpoint_id: FromPath[UUID], db_session: DbSession, request: Me
    ) -> EndpointRead:
        """One webhook endpoint (never its secret)."""
        return await EndpointService(db_session).get(endpoint_id, request.user)

    @patch("/{endpoint_id:uuid}", opt=raises((Invalid, "invalid", "url_not_allowed")))
    async def update(
        self,
        endpoint_id: FromPath[UUID],
        data: JSONBody[EndpointUpdate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        request: Me,
    ) -> EndpointRead:
        """Change the URL, the event types or the description; fields left out stay. A new URL is
        checked against private and loopback targets again."""
        service = EndpointService(db_session, allow_private=settings.webhooks_allow_private)
        return await service.update(endpoint_id, data, request.user)

    @post("/{endpoint_id:uuid}/disable", status_code=200)
    async def disable(
        self, endpoint_id: FromPath[UUID], db_session: DbSession, request: Me
    ) -> EndpointRead:
        """Stop deliveries to this endpoint; they wait, and go out when it is enabled again."""
        return await EndpointService(db_session).set_enabled(endpoint_id, False, request.user)

    @post("/{endpoint_id:uuid}/enable", status_code=200)
    async def enable(
        self, endpoint_id: FromPath[UUID], db_session: DbSession, request: Me
    ) -> EndpointRead:
        """Deliveries that waited while it was disabled go out again."""
        return await EndpointService(db_session).set_enabled(endpoint_id, True, request.user)

    @delete("/{endpoint_id:uuid}")
    async def remove(self, endpoint_id: FromPath[UUID], db_session: DbSession, request: Me) -> None:
        """Delete the endpoint with its deliveries and their attempts: nothing more is sent
        to it."""
        await EndpointService(db_session).delete(endpoint_id, request.user)

    @post("/{endpoint_id:uuid}/rotate-secret", status_code=200)
    async def rotate_secret(
        self, endpoint_id: FromPath[UUID], db_session: DbSession, request: Me
    ) -> SecretRotated:
        """Rotate an endpoint's signing secret.

        A new secret; for 24 h every delivery carries both signatures."""
        return await EndpointService(db_session).rotate_secret(endpoint_id, request.user)

    @post("/{endpoint_id:uuid}/replay", status_code=200, opt=raises(Invalid))
    async def replay(
        self,
        endpoint_id: FromPath[UUID],
        data: JSONBody[ReplayRequest],
        db_session: DbSession,
        request: Me,
    ) -> ReplayResult:
        """Replay past events to an endpoint.

        Resend every event meant for this endpoint since `since` (at most 10,000 a call)."""
        return await EndpointService(db_session).replay(endpoint_id, data.since, request.user)


class WebhookDeliveryController(Controller):
    path = "/v1/webhook-deliveries"
    tags = ["webhooks"]
    guards = MANAGERS

    @get()
    async def list_deliveries(
        self,
        db_session: DbSession,
        request: Me,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        endpoint_id: FromQuery[UUID | None] = None,
        status: Annotated[DeliveryStatus | None, Parameter()] = None,
        shipment_id: FromQuery[UUID | None] = None,
    ) -> Page[DeliveryRead]:
        """List webhook deliveries, optionally by endpoint, status or shipment."""
        return await DeliveryService(db_session).page(
            request.user,
            endpoint_id=endpoint_id,
            status=status,
            shipment_id=shipment_id,
            cursor=cursor,
            limit=limit,
        )

    @get("/{delivery_id:uuid}/attempts")
    async def attempts(
        self, delivery_id: FromPath[UUID], db_session: DbSession, request: Me
    ) -> list[AttemptRead]:
        """Every attempt of one delivery: when, how long, the status and the start of the body
        answered, or the error."""
        return await DeliveryService(db_session).attempts(delivery_id, request.user)

    @post("/{delivery_id:uuid}/redeliver", status_code=202)
    async def redeliver(
        self, delivery_id: FromPath[UUID], db_session: DbSession, request: Me
    ) -> DeliveryRead:
        """Send one delivery again: a new delivery of the same event to the same endpoint, due now,
        with the same `webhook-id` so the receiver can tell it is a repeat."""
        return await DeliveryService(db_session).redeliver(delivery_id, request.user)
