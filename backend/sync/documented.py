"""The push and pull bodies as the OpenAPI documents them.

The handlers read and write these bodies raw (push decodes each event alone so a bad one is
rejected by itself; pull's changes are JSON built by PostgreSQL, see pull.py), so Litestar sees
neither shape. These Structs describe them for the OpenAPI only; tests/openapi checks real pushes
and pulls against them. Nullable fields are sent as null but documented with a default, as the
OpenAPI's examples cannot hold a null.
"""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Point
from backend.shipments.schemas import Address, Requirements
from backend.sync.schemas import DeviceEvent, DeviceId, SkippedSeqs

Op = Annotated[
    Literal["upsert", "remove"],
    Meta(description="`upsert`: store `data` under `id`; `remove`: drop it (`data` is null)"),
]


class PushBatch(msgspec.Struct, forbid_unknown_fields=True):
    """A batch of events captured offline. Each event is validated alone: a malformed one is
    answered `rejected` (and kept in quarantine), never the whole batch."""

    device_id: Annotated[DeviceId, Meta(description="The device's id, as bound to the driver")]
    batch_id: Annotated[
        UUID, Meta(description="Made on the device; a replay with the same body answers the same")
    ]
    events: Annotated[list[DeviceEvent], Meta(description="In capture order; see DeviceEvent")]
    skipped: Annotated[
        list[SkippedSeqs],
        Meta(max_length=100, description="Seqs the device lost: the ack may move past them"),
    ] = []


class RouteData(msgspec.Struct):
    driver_id: UUID
    hub_id: UUID
    date: Annotated[date, Meta(description="The delivery day")]
    status: Annotated[str, Meta(description="published, in_progress, …")]
    published_at: datetime | None = None


class StopData(msgspec.Struct):
    route_id: UUID
    shipment_id: UUID
    sequence: Annotated[int, Meta(ge=0, description="Position on the route, from 0")]


class ContactData(msgspec.Struct):
    name: str
    phone: str | None = None


class WindowData(msgspec.Struct):
    start: datetime
    end: datetime


class InstructionData(msgspec.Struct):
    type: Annotated[str, Meta(description="The recipient's latest instruction, e.g. safe_drop")]
    data: dict[str, object]


class ShipmentData(msgspec.Struct, kw_only=True):
    tracking_number: str
    reference: str | None = None
    status: str
    recipient: ContactData
    address: Address
    location: Point
    window: WindowData | None = None
    service_level: str
    requirements: Requirements
    notes: str | None = None
    barcodes: list[str]
    recipient_instruction: Annotated[
        InstructionData | None,
        Meta(description="The recipient's latest self-service instruction, for the driver"),
    ] = None


class PayData(msgspec.Struct):
    amount: float
    currency: str


class OfferData(msgspec.Struct):
    status: str
    hub_id: UUID
    pickup: Point
    stops: int
    parcels: int
    weight_kg: float
    pay: PayData
    window_start: datetime
    window_end: datetime
    expires_at: datetime


class RouteChange(msgspec.Struct, tag_field="entity", tag="route"):
    op: Op
    id: UUID
    data: RouteData | None = None


class StopChange(msgspec.Struct, tag_field="entity", tag="stop"):
    op: Op
    id: UUID
    data: StopData | None = None


class ShipmentChange(msgspec.Struct, tag_field="entity", tag="shipment"):
    op: Op
    id: UUID
    data: ShipmentData | None = None


class OfferChange(msgspec.Struct, tag_field="entity", tag="offer"):
    """Work offered to a courier that they have not answered (backend/offers)."""

    op: Op
    id: UUID
    data: OfferData | None = None


class PullPage(msgspec.Struct):
    """A snapshot (`snapshot: true`: replace the local copy with these upserts) or the changes
    since `cursor`, oldest first."""

    changes: list[RouteChange | StopChange | ShipmentChange | OfferChange]
    cursor: Annotated[
        str | None,
        Meta(description="Send it back on the next pull; null with `reset_required`"),
    ]
    has_more: Annotated[bool, Meta(description="More changes wait: pull again at once")]
    reset_required: Annotated[
        bool, Meta(description="The cursor is too old or unknown: pull without one (snapshot)")
    ]
    snapshot: bool
    server_time: datetime


class PartnerEventBatch(msgspec.Struct, forbid_unknown_fields=True):
    """A partner carrier's status events, in the device event schema (docs/partners.md); each is
    checked alone, so a bad one is rejected and quarantined by itself."""

    events: Annotated[list[DeviceEvent], Meta(min_length=1)]
