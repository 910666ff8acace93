from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.auth.guards import admin_only, requires, requires_scope, staff_only
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid, PayloadTooLarge, decode_body
from backend.lib.openapi import raises, raw_body
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.partners.events import PartnerEventService, PartnerPushResponse
from backend.partners.handover import HandoverService
from backend.partners.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    ApiKeyUpdate,
    HandoverRequest,
    OrganizationCreate,
    OrganizationRead,
    PartnerEventsRequest,
    RouteHandoverResult,
)
from backend.partners.service import OrganizationService
from backend.shipments.schemas import ShipmentRead
from backend.sync.documented import PartnerEventBatch


class OrganizationController(Controller):
    path = "/v1/organizations"
    tags = ["partners"]

    @post(guards=[admin_only], opt=raises(Invalid))
    async def create(
        self, data: JSONBody[OrganizationCreate], db_session: DbSession
    ) -> OrganizationRead:
        """Create an organisation.

        A shipper or partner carrier (regional courier, cooperative, retail network, crowd
        platform)."""
        return await OrganizationService(db_session).create(data)

    @get(guards=[staff_only])
    async def list_organizations(
        self, db_session: DbSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[OrganizationRead]:
        """List organisations (shippers and partner carriers)."""
        return await OrganizationService(db_session).page(cursor, limit)

    @get(
        "/{organization_id:uuid}",
        guards=[requires("admin", "dispatcher", "shipper", "carrier")],
    )
    async def get_organization(
        self,
        organization_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> OrganizationRead:
        """Staff read any organisation; an API key only its own."""
        return await OrganizationService(db_session).get(organization_id, request.user)

    @post("/{organization_id:uuid}/api-keys", guards=[admin_only], opt=raises(Invalid))
    async def create_key(
        self,
        organization_id: FromPath[UUID],
        db_session: DbSession,
        data: JSONBody[ApiKeyCreate | None] = None,
    ) -> ApiKeyCreated:
        """Create an API key for an organisation.

        A new key, shown once in `key`. Several keys may be live at once (rotation)."""
        return await OrganizationService(db_session).create_key(
            organization_id, data or ApiKeyCreate()
        )

    @get("/{organization_id:uuid}/api-keys", guards=[admin_only])
    async def list_keys(
        self, organization_id: FromPath[UUID], db_session: DbSession
    ) -> list[ApiKeyRead]:
        """Prefix, scopes, creation, expiry, revocation and last use; never the key."""
        return await OrganizationService(db_session).keys(organization_id)

    @patch(
        "/{organization_id:uuid}/api-keys/{key_id:uuid}",
        guards=[admin_only],
        opt=raises((Conflict, "key_revoked"), Invalid),
    )
    async def expire_key(
        self,
        organization_id: FromPath[UUID],
        key_id: FromPath[UUID],
        data: JSONBody[ApiKeyUpdate],
        db_session: DbSession,
    ) -> ApiKeyRead:
        """Set when the key stops working (now, or later for a rotation's overlap)."""
        return await OrganizationService(db_session).expire_key(organization_id, key_id, data)

    @post(
        "/{organization_id:uuid}/api-keys/{key_id:uuid}/revoke",
        guards=[admin_only],
        status_code=200,
        opt=raises((Conflict, "key_revoked")),
    )
    async def revoke_key(
        self, organization_id: FromPath[UUID], key_id: FromPath[UUID], db_session: DbSession
    ) -> ApiKeyRead:
        """Revoke a key now: the next request made with it is 401."""
        return await OrganizationService(db_session).revoke_key(organization_id, key_id)


class HandoverController(Controller):
    path = "/v1"
    tags = ["partners"]
    guards = [staff_only]

    @post(
        "/shipments/{shipment_id:uuid}/handover",
        status_code=200,
        opt=raises((Conflict, "shipment_closed"), (Invalid, "invalid", "not_a_carrier")),
    )
    async def hand_over_shipment(
        self,
        shipment_id: FromPath[UUID],
        data: JSONBody[HandoverRequest],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> ShipmentRead:
        """Hand a shipment over to a partner carrier.

        Give the shipment to a partner carrier: it leaves any driver's route (the driver
        learns through pull), becomes `with_partner`, and the carrier's key can read it."""
        return await HandoverService(db_session).shipment(shipment_id, data, request.user.actor_id)

    @post(
        "/routes/{route_id:uuid}/handover",
        status_code=200,
        opt=raises((Conflict, "shipment_closed"), (Invalid, "invalid", "not_a_carrier")),
    )
    async def hand_over_route(
        self,
        route_id: FromPath[UUID],
        data: JSONBody[HandoverRequest],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> RouteHandoverResult:
        """Hand a whole route over to a partner carrier.

        The same for every stop of the route not yet closed."""
        return await HandoverService(db_session).route(route_id, data, request.user.actor_id)


class PartnerEventController(Controller):
    path = "/v1/partner"
    tags = ["partners"]
    guards = [requires("carrier"), requires_scope("events:write")]

    @post(
        "/events",
        status_code=200,
        opt=raises((PayloadTooLarge, "too_many_events")) | raw_body(PartnerEventBatch),
    )
    async def push_events(
        self,
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> PartnerPushResponse:
        """Report status events as a partner carrier.

        `{events: [...]}` in the device event schema (docs/partners.md): one result per
        event, in order; a bad event is rejected alone and kept in quarantine; a replayed
        `event_id` is a duplicate."""
        body = await request.body()
        if len(body) > settings.sync_max_bytes:
            raise PayloadTooLarge(f"At most {settings.sync_max_bytes} bytes per call")
        data = decode_body(body, PartnerEventsRequest)
        if len(data.events) > settings.sync_max_events:
            raise PayloadTooLarge(
                f"At most {settings.sync_max_events} events per call", code="too_many_events"
            )
        organization_id = request.user.organization_id
        assert organization_id is not None  # the carrier role is only ever an API key's
        return await PartnerEventService(db_session).push(organization_id, data.events)
