from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from backend.auth.guards import requires, requires_scope, staff_only
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import examples, raises, samples
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.lib.plausible import Plausible
from backend.shipments.schemas import (
    BulkResult,
    BulkShipmentCreate,
    DriverShipmentRead,
    EventList,
    ShipmentCreate,
    ShipmentLookup,
    ShipmentRead,
    ShipmentUpdate,
)
from backend.shipments.service import ShipmentService
from backend.shipments.state import STATUSES

StatusFilter = Annotated[str | None, Parameter(description=f"one of {', '.join(STATUSES)}")]
Lookup = Annotated[str | None, Parameter(min_length=1, max_length=120)]
LIST_PARAMETERS = frozenset(
    ("limit", "cursor", "status", "hub_id", "zone_id", "reference", "barcode", "tracking_number")
)
# Who may send shipments and who may read them: staff, and organisations' keys with the scope.
WRITERS = [requires("admin", "dispatcher", "shipper"), requires_scope("shipments:write")]
READERS = [requires("admin", "dispatcher", "shipper", "carrier"), requires_scope("shipments:read")]


class CancelRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


def plausible(settings: Settings) -> Plausible:
    return Plausible.from_settings(settings)


class ShipmentController(Controller):
    path = "/v1/shipments"
    tags = ["shipments"]

    @post(
        guards=WRITERS,
        opt=raises((Conflict, "reference_taken", "barcode_taken"), Invalid)
        | examples(request=samples.SHIPMENT_CREATE),
    )
    async def create(
        self,
        data: JSONBody[ShipmentCreate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        request: Request[Principal, Any, Any],
    ) -> ShipmentRead:
        """Create a shipment (a shipper's key: one of its own). A reference already used by the
        same shipper is 409 `reference_taken` naming the shipment that has it."""
        return await ShipmentService(
            db_session, pin_secret=settings.secret_key, plausible=plausible(settings)
        ).create(data, request.user.actor_id, request.user.organization_id)

    @post(
        "/bulk",
        guards=WRITERS,
        status_code=200,
        opt=raises((Invalid, "invalid"), max_body="bulk_max_bytes"),
    )
    async def bulk(
        self,
        data: JSONBody[BulkShipmentCreate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        request: Request[Principal, Any, Any],
    ) -> BulkResult:
        """Create many shipments in one call.

        Create up to `LASTMILE_BULK_MAX_SHIPMENTS` shipments; good rows are stored, bad rows
        reported by index with the field that failed."""
        return await ShipmentService(
            db_session, pin_secret=settings.secret_key, plausible=plausible(settings)
        ).bulk(
            data.shipments,
            request.user.actor_id,
            settings.bulk_max_shipments,
            request.user.organization_id,
        )

    @get(guards=READERS, opt=raises(Invalid))
    async def list_shipments(
        self,
        db_session: DbSession,
        request: Request[Principal, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        status: StatusFilter = None,
        hub_id: FromQuery[UUID | None] = None,
        zone_id: FromQuery[UUID | None] = None,
        reference: Lookup = None,
        barcode: Lookup = None,
        tracking_number: Lookup = None,
    ) -> Page[ShipmentRead]:
        """List shipments, or find one.

        Filter, or find one by `reference`, `barcode` or `tracking_number`. A parameter this
        list does not know is 422, never silently ignored."""
        unknown = sorted(set(request.query_params) - LIST_PARAMETERS)
        if unknown:
            raise Invalid(f"Unknown query parameter {unknown[0]}", field=unknown[0])
        if status is not None and status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}", field="status")
        return await ShipmentService(db_session).page(
            cursor=cursor,
            limit=limit,
            status=status,
            hub_id=hub_id,
            zone_id=zone_id,
            lookup=ShipmentLookup(reference, barcode, tracking_number),
            principal=request.user,
        )

    @get(
        "/{shipment_id:uuid}",
        guards=[
            requires("admin", "dispatcher", "driver", "shipper", "carrier"),
            requires_scope("shipments:read"),
        ],
    )
    async def get_shipment(
        self,
        shipment_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> ShipmentRead | DriverShipmentRead:
        """Staff get the whole shipment; a driver, for a shipment on their route, the driver's
        view: no tracking token and no recipient email (docs/security.md)."""
        return await ShipmentService(db_session).get(shipment_id, request.user)

    @patch(
        "/{shipment_id:uuid}",
        guards=[staff_only],
        opt=raises((Conflict, "shipment_closed"), (Invalid, "invalid", "implausible_window")),
    )
    async def update(
        self,
        shipment_id: FromPath[UUID],
        data: JSONBody[ShipmentUpdate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        request: Request[Principal, Any, Any],
    ) -> ShipmentRead:
        """Change address, location, window, notes or requirements; 409 once closed."""
        service = ShipmentService(
            db_session, pin_secret=settings.secret_key, plausible=plausible(settings)
        )
        return await service.update(shipment_id, data, request.user.user_id)

    @post(
        "/{shipment_id:uuid}/cancel",
        guards=[staff_only],
        status_code=200,
        opt=raises((Conflict, "shipment_closed")),
    )
    async def cancel(
        self,
        shipment_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
        data: JSONBody[CancelRequest | None] = None,
    ) -> ShipmentRead:
        """Cancel a shipment that has not been delivered: it leaves its route, and the driver's
        next pull removes it. A shipment already delivered, returned or cancelled is 409
        `shipment_closed` (a scan's fact beats an administrative intent)."""
        reason = data.reason if data else None
        return await ShipmentService(db_session).cancel(shipment_id, request.user.user_id, reason)

    @get(
        "/{shipment_id:uuid}/events",
        guards=[
            requires("admin", "dispatcher", "driver", "shipper", "carrier"),
            requires_scope("shipments:read"),
        ],
    )
    async def events(
        self,
        shipment_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> EventList:
        """The shipment's events in fold order, with the anomalies the fold found."""
        return await ShipmentService(db_session).events(shipment_id, request.user)
