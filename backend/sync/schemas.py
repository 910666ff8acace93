"""The push/pull wire format (docs/sync-protocol.md is the prose version)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Point, Position

# No U+0000: PostgreSQL's text cannot hold it.
DeviceId = Annotated[
    str, Meta(min_length=1, max_length=128)
]  # NUL: refused by decode_body (nul_character)
# PostgreSQL's bigint: the largest `seq` the inbox can hold.
MAX_SEQ = 2**63 - 1
Seq = Annotated[int, Meta(ge=1, le=MAX_SEQ)]
# Milliseconds since boot: 10^12 is 31 years of uptime. The bound keeps the anchor arithmetic
# (`server_time + (mono_ms - anchor.mono_ms)`) inside the dates Python and PostgreSQL hold.
MonoMs = Annotated[int, Meta(ge=0, le=10**12)]
# An anchor's `server_time` is a time this server handed out: anything outside these years
# is not one of ours.
ANCHOR_YEARS = range(2000, 2100)
EventType = Literal[
    "scan_hub_in",
    "scan_loaded",
    "route_started",
    "arrived",
    "delivered",
    "delivery_failed",
    "returned_to_hub",
    "location",
    "note",
]
# Types about one shipment: they need `shipment_id`, `barcode` or `stop_id`.
SHIPMENT_TYPES = frozenset(
    {"scan_hub_in", "scan_loaded", "arrived", "delivered", "delivery_failed", "returned_to_hub"}
)


class SkippedSeqs(msgspec.Struct, forbid_unknown_fields=True):
    """Seqs the device lost before sending them (`first_seq` to `last_seq`, inclusive): they
    will never arrive, so the ack may move past them."""

    first_seq: Annotated[Seq, Meta(description="The first lost seq")]
    last_seq: Annotated[Seq, Meta(description="The last lost seq (inclusive)")]

    def __post_init__(self) -> None:
        if self.last_seq < self.first_seq:
            raise ValueError("last_seq is below first_seq")


class PushRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Events stay raw here so one malformed event is rejected alone, not the whole batch."""

    device_id: DeviceId
    batch_id: UUID
    events: list[Any]
    skipped: Annotated[list[SkippedSeqs], Meta(max_length=100)] = []


class Anchor(msgspec.Struct, forbid_unknown_fields=True):
    boot_id: Annotated[
        str, Meta(min_length=1, max_length=64, description="The boot the anchor was taken in")
    ]
    mono_ms: Annotated[
        MonoMs, Meta(description="The monotonic clock when the server time was received")
    ]
    server_time: Annotated[
        datetime, Meta(description="`server_time` of a response this server sent")
    ]  # offset and range checked with the event's times: `times_problem`


class Clock(msgspec.Struct, forbid_unknown_fields=True):
    boot_id: Annotated[
        str, Meta(min_length=1, max_length=64, description="Changes whenever the device restarts")
    ]
    mono_ms: Annotated[
        MonoMs, Meta(description="Milliseconds since boot (monotonic) when the event was captured")
    ]
    anchor: Annotated[
        Anchor | None,
        Meta(
            description=(
                "A server time received during this boot, with the monotonic reading at that "
                "moment: the effective time is `anchor.server_time + (mono_ms - anchor.mono_ms)`"
            )
        ),
    ] = None


class Location(msgspec.Struct, forbid_unknown_fields=True):
    """Where the event happened, in either form: compact `{lon, lat, accuracy_m?}`, or a GeoJSON
    Point `{type: "Point", coordinates: [lon, lat], accuracy_m?}` (the form the rest of the API
    speaks). Read `lon` and `lat` whichever form arrived."""

    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    accuracy_m: (
        Annotated[float, Meta(ge=0, le=100_000, description="Horizontal accuracy in metres")] | None
    ) = None
    type: Literal["Point"] | None = None
    coordinates: Position | None = None

    def __post_init__(self) -> None:
        compact = self.lon is not None or self.lat is not None
        if self.type is None and self.coordinates is None:
            if self.lon is None or self.lat is None:
                raise ValueError("lon and lat are required (or a GeoJSON Point)")
        elif compact or self.type is None or self.coordinates is None:
            raise ValueError("either lon and lat, or type Point with coordinates, not both")
        elif len(self.coordinates) > 2:
            raise ValueError("coordinates: [lon, lat] only, an altitude would not be kept")
        else:
            point = Point(coordinates=self.coordinates)  # the same checks as every GeoJSON point
            self.lon, self.lat = point.lon, point.lat


class DeviceEvent(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Annotated[
        UUID,
        Meta(
            description=(
                "Made on the device; the idempotency key: sent again, it answers `duplicate`"
            )
        ),
    ]
    seq: Annotated[
        Seq,
        Meta(
            description=(
                "The device's own counter, 1, 2, 3…; `ack_seq` acknowledges the contiguous ones"
            )
        ),
    ]
    type: Annotated[EventType, Meta(description="What happened; `data` depends on it")]
    occurred_at: Annotated[
        datetime,
        Meta(
            description=(
                "The device's wall clock (RFC 3339 with offset); used when no anchor is given"
            )
        ),
    ]
    shipment_id: Annotated[
        UUID | None, Meta(description="The shipment, or give `barcode` or `stop_id`")
    ] = None
    barcode: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=64,
                description="A parcel's barcode, for scans of unlabelled ids",
            ),
        ]
        | None
    ) = None
    stop_id: Annotated[
        UUID | None, Meta(description="The stop, for `arrived` and events about its shipment")
    ] = None
    clock: Annotated[
        Clock | None,
        Meta(description="Monotonic clock readings that order events whatever the wall clock says"),
    ] = None
    location: Annotated[Location | None, Meta(description="Where it happened")] = None
    data: Annotated[
        dict[str, Any],
        Meta(
            description=(
                "By type: `delivered` {handoff, recipient_name?, pin?, signature_sha256?, "
                "photo_sha256s?, age_verified?}; `delivery_failed` {reason, note?}; `note` "
                "{text}; `route_started` {route_id?}; else {}"
            )
        ),
    ] = {}


def times_problem(event: DeviceEvent) -> str | None:
    """Why the event's times cannot be used (`field: reason`), or None, with them turned to UTC.

    A time needs an offset and a UTC date Python and PostgreSQL both hold; an anchor's
    `server_time` must also be one this server could have sent."""
    occurred_at, problem = _utc(event.occurred_at)
    if problem:
        return f"occurred_at: {problem}"
    event.occurred_at = occurred_at
    anchor = event.clock.anchor if event.clock else None
    if anchor:
        server_time, problem = _utc(anchor.server_time)
        if problem is None and server_time.year not in ANCHOR_YEARS:
            problem = "not a time this server sent (years 2000 to 2099)"
        if problem:
            return f"clock.anchor.server_time: {problem}"
        anchor.server_time = server_time
    return None


def _utc(at: datetime) -> tuple[datetime, str | None]:
    if at.tzinfo is None:
        return at, "needs a UTC offset (RFC 3339)"
    try:
        return at.astimezone(UTC), None
    except OverflowError:
        return at, "outside the years 1 to 9999 in UTC"


class DeliveredData(msgspec.Struct, forbid_unknown_fields=True):
    handoff: Literal["recipient", "neighbour", "safe_drop", "pickup_point", "locker"]
    recipient_name: Annotated[str, Meta(max_length=200)] | None = None
    pin: Annotated[str, Meta(max_length=32)] | None = None
    signature_sha256: Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")] | None = None
    photo_sha256s: list[Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]] = []
    age_verified: bool | None = None


class FailedData(msgspec.Struct, forbid_unknown_fields=True):
    reason: Literal[
        "recipient_absent",
        "no_access",
        "refused",
        "damaged",
        "address_not_found",
        "unsafe",
        "other",
    ]
    note: Annotated[str, Meta(max_length=2000)] | None = None


class NoteData(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, Meta(min_length=1, max_length=2000)]


class RouteStartedData(msgspec.Struct, forbid_unknown_fields=True):
    route_id: UUID | None = None


class EmptyData(msgspec.Struct, forbid_unknown_fields=True):
    pass


DATA_TYPES: dict[str, type[msgspec.Struct]] = {
    "delivered": DeliveredData,
    "delivery_failed": FailedData,
    "note": NoteData,
    "route_started": RouteStartedData,
}


class ShipmentStatus(msgspec.Struct):
    id: UUID
    status: str


class EventResult(msgspec.Struct, omit_defaults=True):
    event_id: Annotated[
        UUID | None,
        Meta(description="The event's id; null when the event was too malformed to have one"),
    ]
    status: Annotated[
        Literal["accepted", "duplicate", "rejected"],
        Meta(
            description=(
                "`accepted` (stored and applied), `duplicate` (stored before), `rejected` (kept "
                "in quarantine, see `reason`)"
            )
        ),
    ]
    reason: Annotated[
        str | None, Meta(description="Why rejected: `invalid`, `unknown_shipment`, …")
    ] = None
    detail: Annotated[
        str | None, Meta(description="For `invalid`: the field and what is wrong with it")
    ] = None  # for `invalid`: the field and what is wrong with it
    shipment: Annotated[
        ShipmentStatus | None, Meta(description="The shipment's status after this event")
    ] = None
    # An accepted event's flags: its clock's (`clock_low_confidence`, `clock_suspect`),
    # `custody_conflict`, and the anomalies the shipment's fold found at it.
    flags: Annotated[
        list[str],
        Meta(
            description=(
                "Clock flags (`clock_low_confidence`, `clock_suspect`), `custody_conflict`, and "
                "anomalies the shipment's fold found"
            )
        ),
    ] = []


class PushResponse(msgspec.Struct):
    results: Annotated[list[EventResult], Meta(description="One per event, in request order")]
    ack_seq: Annotated[
        int,
        Meta(
            description=(
                "The highest `seq` such that every seq up to it is stored: drop those events from"
                " the device"
            )
        ),
    ]
    server_time: Annotated[
        datetime,
        Meta(
            description=(
                "Keep it with the monotonic reading at receipt: it is the next events' anchor"
            )
        ),
    ]


class Change(msgspec.Struct, omit_defaults=True):
    entity: Literal["route", "stop", "shipment", "offer"]
    op: Literal["upsert", "remove"]
    id: UUID
    data: dict[str, Any] | None = None


class PullResponse(msgspec.Struct):
    """`snapshot: true` means: replace the local copy with these changes (all upserts)."""

    changes: list[Change]  # served pre-encoded (`msgspec.Raw`, built by PostgreSQL; see pull.py)
    cursor: str | None  # null with `reset_required`: drop the cursor and take a snapshot
    has_more: bool
    reset_required: bool
    snapshot: bool
    server_time: datetime
