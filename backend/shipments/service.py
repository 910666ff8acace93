"""Shipments: intake (one or ten thousand), edits, cancellation and the event log behind them."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.incidents.rules.service import DetectionService
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound, describe_validation
from backend.lib.geo import point_from_db, point_to_db
from backend.lib.ids import secret_token, tracking_number, uuid7
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.lib.plausible import Plausible
from backend.live.service import LiveService
from backend.manifests.repository import ManifestRepository
from backend.notifications.service import NotificationService
from backend.pod.chain import GENESIS, link_unsealed
from backend.pod.chain import extend as extend_chain
from backend.pod.pins import pin_for, pin_hash
from backend.shipments.models import Parcel, Shipment, ShipmentEvent
from backend.shipments.repository import ShipmentRepository
from backend.shipments.schemas import (
    DRIVER_HIDDEN_EVENT_DATA,
    DRIVER_RECIPIENT_FIELDS,
    BulkCreated,
    BulkError,
    BulkResult,
    DriverShipmentRead,
    EventList,
    EventRead,
    ParcelRead,
    Requirements,
    ShipmentCreate,
    ShipmentLookup,
    ShipmentRead,
    ShipmentUpdate,
    Window,
)
from backend.shipments.state import FoldEvent, fold_events, sort_events
from backend.sync.changes import ManifestChangeLog
from backend.webhooks.service import WebhookService

FROZEN_STATUSES = ("delivered", "returned", "cancelled")


class ShipmentService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        pin_secret: str | None = None,
        plausible: Plausible | None = None,
    ) -> None:
        """`pin_secret` (the server secret) derives delivery PINs at intake; without it a
        shipment requiring a PIN gets no PIN hash and its PIN cannot be verified. `plausible`
        bounds the windows dispatch gives (intake and changes)."""
        self.session = session
        self.repo = ShipmentRepository(session)
        self.pin_secret = pin_secret
        self.plausible = plausible

    # intake ----------------------------------------------------------------------------------

    async def create(
        self, data: ShipmentCreate, actor_id: UUID | None, shipper_id: UUID | None = None
    ) -> ShipmentRead:
        created, errors = await self.create_many([data], actor_id, shipper_id)
        if errors:
            error = errors[0]
            if error.status == 409:
                raise Conflict(
                    error.detail, code=error.code or "barcode_taken", errors=error.errors
                )
            raise Invalid(error.detail, field=_field(error))
        return (await self.read_many([created[0].id]))[0]

    async def bulk(
        self,
        items: list[dict[str, Any]],
        actor_id: UUID | None,
        limit: int,
        shipper_id: UUID | None = None,
    ) -> BulkResult:
        if len(items) > limit:
            raise Invalid(f"At most {limit} shipments per call", field="shipments")
        valid: list[tuple[int, ShipmentCreate]] = []
        errors: list[BulkError] = []
        for index, item in enumerate(items):
            try:
                valid.append((index, msgspec.convert(item, ShipmentCreate, strict=False)))
            except msgspec.ValidationError as exc:
                errors.append(_validation_error(index, str(exc)))
        created, refused = await self.create_many([data for _, data in valid], actor_id, shipper_id)
        positions = [index for index, _ in valid]
        for error in refused:
            error.index = positions[error.index]
        for item in created:
            item.index = positions[item.index]
        return BulkResult(created=created, errors=sorted(errors + refused, key=lambda e: e.index))

    async def create_many(
        self, items: Sequence[ShipmentCreate], actor_id: UUID | None, shipper_id: UUID | None = None
    ) -> tuple[list[BulkCreated], list[BulkError]]:
        """Insert every acceptable item set-wise; report the others by their index in `items`.
        `shipper_id`: the shipper organisation sending them (None: dispatch's own)."""
        errors = await self._refusals(items, shipper_id)
        accepted = [(i, data) for i, data in enumerate(items) if i not in errors]
        if not accepted:
            return [], sorted(errors.values(), key=lambda e: e.index)
        zones = await self.repo.zones_for_points(
            [(d.location.lon, d.location.lat) for _, d in accepted]
        )
        now = utcnow()
        shipments, parcels, events, created = [], [], [], []
        for (index, data), zone_id in zip(accepted, zones, strict=True):
            row = _shipment_row(data, zone_id) | {"shipper_id": shipper_id}
            row["pin_hash"] = self._pin_hash(row["id"], data.requirements)
            shipments.append(row)
            parcels += [
                {
                    "id": uuid7(),
                    "shipment_id": row["id"],
                    "barcode": p.barcode,
                    "weight_kg": p.weight_kg,
                }
                for p in data.parcels
            ]
            events.append(_event_row(row["id"], "created", actor_id, now, {}))
            created.append(
                BulkCreated(index=index, id=row["id"], tracking_number=row["tracking_number"])
            )
        await self.repo.insert(shipments, parcels)
        await self.repo.append_events(events)
        await self.seal_chains([row["id"] for row in shipments])  # new rows: ours alone
        await WebhookService(self.session).shipments_created([row["id"] for row in shipments])
        return created, sorted(errors.values(), key=lambda e: e.index)

    def _pin_hash(self, shipment_id: UUID, requirements: Requirements | None) -> str | None:
        if not (requirements and requirements.pin and self.pin_secret):
            return None
        return pin_hash(shipment_id, pin_for(shipment_id, self.pin_secret))

    async def _refusals(
        self, items: Sequence[ShipmentCreate], shipper_id: UUID | None
    ) -> dict[int, BulkError]:
        """Unknown hubs, and references and barcodes already taken (in the database or earlier
        in the batch). A taken reference names the shipment that has it."""
        known_hubs = await self.repo.known_hubs({d.hub_id for d in items})
        taken = await self.repo.taken_barcodes([p.barcode for d in items for p in d.parcels])
        references = await self.repo.taken_references(
            shipper_id, [d.reference for d in items if d.reference]
        )
        errors: dict[int, BulkError] = {}
        for index, data in enumerate(items):
            if data.hub_id not in known_hubs:
                errors[index] = _error(index, 422, "No such hub", "hub_id")
                continue
            if self.plausible and (problem := self.plausible.window_problem(data.window)):
                errors[index] = _error(index, 422, f"window: {problem}", "window")
                continue
            if data.reference and data.reference in references:
                errors[index] = _reference_taken(index, data.reference, references[data.reference])
                continue
            for position, parcel in enumerate(data.parcels):
                if parcel.barcode in taken:
                    field = f"parcels[{position}].barcode"
                    errors[index] = _error(index, 409, f"Barcode {parcel.barcode} is taken", field)
                    break
            else:
                taken.update(p.barcode for p in data.parcels)
                if data.reference:
                    references[data.reference] = None
        return errors

    # reads -----------------------------------------------------------------------------------

    async def get(
        self, shipment_id: UUID, principal: Principal
    ) -> ShipmentRead | DriverShipmentRead:
        """Staff get the whole shipment; its driver the driver's view."""
        await self.ensure_visible(shipment_id, principal)
        items = await self.read_many([shipment_id])
        if not items:
            raise NotFound("No such shipment")
        return items[0] if principal.is_staff else driver_view(items[0])

    async def ensure_visible(self, shipment_id: UUID, principal: Principal) -> None:
        """Staff see every shipment; a driver only those on their own published routes; a
        shipper its own; a carrier those handed over to it."""
        if principal.is_staff:
            return
        if principal.organization_id:
            if await self.repo.owned_by(shipment_id, principal.organization_id):
                return
            raise NotFound("No such shipment")
        if principal.driver_id and await ManifestRepository(self.session).driver_has_shipment(
            principal.driver_id, shipment_id
        ):
            return
        raise NotFound("No such shipment")

    async def page(
        self,
        *,
        cursor: str | None,
        limit: int,
        status: str | None,
        hub_id: UUID | None,
        zone_id: UUID | None,
        lookup: ShipmentLookup | None = None,
        principal: Principal | None = None,
    ) -> Page[ShipmentRead]:
        """Staff see every shipment; an organisation's key only its own (shipper) or those
        handed over to it (carrier)."""
        rows = await self.repo.page(
            after=decode_cursor(cursor),
            limit=limit + 1,
            status=status,
            hub_id=hub_id,
            zone_id=zone_id,
            lookup=lookup or ShipmentLookup(),
            organization_id=principal.organization_id if principal else None,
        )
        return page_of(await self._read(rows), limit, lambda shipment: shipment.id)

    async def read_many(self, shipment_ids: Sequence[UUID]) -> list[ShipmentRead]:
        return await self._read(await self.repo.by_ids(shipment_ids))

    async def _read(self, shipments: Sequence[Shipment]) -> list[ShipmentRead]:
        parcels: dict[UUID, list[Parcel]] = {}
        for parcel in await self.repo.parcels_for([s.id for s in shipments]):
            parcels.setdefault(parcel.shipment_id, []).append(parcel)
        return [shipment_read(s, parcels.get(s.id, [])) for s in shipments]

    async def events(self, shipment_id: UUID, principal: Principal) -> EventList:
        await self.ensure_visible(shipment_id, principal)
        if await self.repo.get(shipment_id) is None:
            raise NotFound("No such shipment")
        by_id = {e.id: e for e in await self.repo.events_for([shipment_id])}
        stored = sort_events(_fold_event(e) for e in by_id.values())
        flagged: dict[UUID, list[str]] = {}
        for anomaly in fold_events(stored).anomalies:
            flagged.setdefault(anomaly.event_id, []).append(anomaly.code)
        items = [_event_read(by_id[e.id], flagged.get(e.id, [])) for e in stored]
        if not principal.is_staff:
            for item in items:
                item.data = _without(item.data, DRIVER_HIDDEN_EVENT_DATA)
        return EventList(items=items)

    # dispatch changes ------------------------------------------------------------------------

    async def update(self, shipment_id: UUID, data: ShipmentUpdate, actor_id: UUID) -> ShipmentRead:
        shipment = await self._editable(shipment_id)
        changed: dict[str, Any] = {}
        if data.address is not msgspec.UNSET:
            shipment.address = changed["address"] = msgspec.to_builtins(data.address)
        if data.location is not msgspec.UNSET:
            shipment.location = point_to_db(data.location.lon, data.location.lat)
            changed["location"] = msgspec.to_builtins(data.location)
            [shipment.zone_id] = await self.repo.zones_for_points(
                [(data.location.lon, data.location.lat)]
            )
            shipment.outside_zones = shipment.zone_id is None
        if data.window is not msgspec.UNSET:
            if self.plausible:
                self.plausible.check_window(data.window)
            shipment.window_start = data.window.start if data.window else None
            shipment.window_end = data.window.end if data.window else None
            changed["window"] = msgspec.to_builtins(data.window)
        if data.notes is not msgspec.UNSET:
            shipment.notes = changed["notes"] = data.notes
        if data.requirements is not msgspec.UNSET:
            shipment.requirements = changed["requirements"] = msgspec.to_builtins(data.requirements)
            shipment.pin_hash = shipment.pin_hash or self._pin_hash(shipment_id, data.requirements)
        if changed:
            await self.record(
                [shipment_id], "updated", actor_id=actor_id, data={"changed": changed}
            )
            await ManifestChangeLog(self.session).shipments_changed([shipment_id])
        return (await self.read_many([shipment_id]))[0]

    async def cancel(self, shipment_id: UUID, actor_id: UUID, reason: str | None) -> ShipmentRead:
        await self._editable(shipment_id)
        await self.record([shipment_id], "cancelled", actor_id=actor_id, data={"reason": reason})
        await ManifestChangeLog(self.session).shipments_changed([shipment_id])
        return (await self.read_many([shipment_id]))[0]

    async def hand_over(
        self,
        shipment_ids: Sequence[UUID],
        carrier_id: UUID,
        actor_id: UUID | None,
        reason: str | None,
    ) -> dict[UUID, str]:
        """Give open shipments to a partner carrier: it may read them and report their events;
        each gets a `handed_over` event (status `with_partner`). 409 if one is closed."""
        shipments = await self.repo.lock(sorted(set(shipment_ids)))
        if len(shipments) != len(set(shipment_ids)):
            raise NotFound("No such shipment")
        for shipment in shipments:
            if shipment.status in FROZEN_STATUSES:
                raise Conflict(
                    f"The shipment is {shipment.status}; it can no longer change",
                    code="shipment_closed",
                )
            shipment.carrier_id = carrier_id
        data = {"organization_id": str(carrier_id), "reason": reason}
        return await self.record(
            [s.id for s in shipments], "handed_over", actor_id=actor_id, data=data
        )

    async def _editable(self, shipment_id: UUID) -> Shipment:
        shipment = await self.repo.get(shipment_id, for_update=True)
        if shipment is None:
            raise NotFound("No such shipment")
        if shipment.status in FROZEN_STATUSES:
            raise Conflict(
                f"The shipment is {shipment.status}; it can no longer change",
                code="shipment_closed",
            )
        return shipment

    async def record(
        self,
        shipment_ids: Sequence[UUID],
        event_type: str,
        *,
        actor_id: UUID | None,
        data: dict[str, Any] | None = None,
        source: str = "dispatch",
    ) -> dict[UUID, str]:
        """Append one dispatch-side event per shipment and re-fold them; returns new statuses."""
        await self.session.flush()
        now = utcnow()
        events = [
            _event_row(sid, event_type, actor_id, now, data or {}, source) for sid in shipment_ids
        ]
        await self.repo.append_events(events)
        return {sid: after for sid, (_, after) in (await self.refold(shipment_ids)).items()}

    async def statuses(self, shipment_ids: set[UUID]) -> dict[UUID, str]:
        return await self.repo.statuses(sorted(shipment_ids)) if shipment_ids else {}

    async def refold(
        self,
        shipment_ids: Sequence[UUID],
        *,
        locked: Mapping[UUID, str] | None = None,
        appended: Sequence[Mapping[str, Any]] = (),
        anomalies: dict[UUID, list[str]] | None = None,
    ) -> dict[UUID, tuple[str, str]]:
        """Recompute these shipments' projections from all their events, set-wise, and seal
        their new events into the audit chain (the same rows serve both).

        Locks the rows in id order first (`lock_statuses`), so two writers folding the same
        shipment take turns and the second sees the first one's events; a caller that took that
        lock already, in an earlier statement, passes the {id: status} it read as `locked`.
        `appended`: new events of these shipments, not stored yet, in the shape `fold_inputs`
        reads (`data` and `anomalies` as JSON): they are folded with the stored ones and
        inserted already linked, so a push writes each log row once instead of inserting it
        and then updating it with its link.
        `anomalies`, when given, receives the fold's anomaly codes of the `appended` events (by
        event id), so a push can answer them.
        Returns {id: (status before, after)}.
        """
        ids = sorted(set(shipment_ids))
        if locked is not None:
            before = {sid: locked[sid] for sid in ids if sid in locked}
        else:
            before = await self.repo.lock_statuses(ids)
        rows = [*await self.repo.fold_inputs(list(before)), *appended]
        grouped: dict[UUID, list[FoldEvent]] = {sid: [] for sid in before}
        for row in rows:
            grouped[row["shipment_id"]].append(
                FoldEvent(
                    row["id"],
                    row["type"],
                    row["source"],
                    row["effective_at"],
                    row["device_id"],
                    row["seq"],
                )
            )
        states = []
        changes: dict[UUID, tuple[str, str]] = {}
        attempts: dict[UUID, int] = {}
        wanted = {row["id"] for row in appended} if anomalies is not None else set()
        for sid, events in grouped.items():
            folded = fold_events(events)
            state = folded.state
            for anomaly in folded.anomalies:
                if anomaly.event_id in wanted:
                    anomalies.setdefault(anomaly.event_id, []).append(anomaly.code)  # type: ignore[union-attr]
            status = state.status or "created"
            states.append((sid, status, state.attempts, state.delivered_at, len(events)))
            changes[sid] = (before[sid], status)
            attempts[sid] = state.attempts
        await self.repo.save_folds(link_unsealed(rows), states, appended)
        # Every status change passes here: keep it for the live feeds (published after commit),
        # ask for the recipient's notification and let detection open or clear
        # `repeated_failure`, all in this transaction.
        await LiveService(self.session).status_changed(changes)
        await NotificationService(self.session).status_changed(changes, attempts)
        await WebhookService(self.session).status_changed(changes)
        await DetectionService(self.session).shipments_changed(changes)
        return changes

    async def seal_chains(self, shipment_ids: Sequence[UUID]) -> None:
        """Link the events not yet in their shipment's audit chain, in arrival order.

        Callers hold the shipment rows (refold locks them; intake owns its new rows), so two
        writers never link the same position; the unique (shipment_id, chain_seq) index
        guards it anyway. Three statements for any number of events.
        """
        events = await self.repo.unsealed_events(shipment_ids)
        heads = {e["shipment_id"]: (e["head_seq"] or 0, e["head_hash"] or GENESIS) for e in events}
        links = extend_chain(heads, events)
        await self.repo.save_links(links)


def _shipment_row(data: ShipmentCreate, zone_id: UUID | None) -> dict[str, Any]:
    requirements = msgspec.to_builtins(data.requirements) if data.requirements else {}
    return {
        "id": uuid7(),
        "reference": data.reference,
        "hub_id": data.hub_id,
        "zone_id": zone_id,
        "outside_zones": zone_id is None,
        "tracking_number": tracking_number(),
        "tracking_token": secret_token(),
        "status": "created",
        "recipient": msgspec.to_builtins(data.recipient),
        "address": msgspec.to_builtins(data.address),
        "location": point_to_db(data.location.lon, data.location.lat),
        "window_start": data.window.start if data.window else None,
        "window_end": data.window.end if data.window else None,
        "service_level": data.service_level,
        "requirements": requirements,
        "notes": data.notes,
        "event_count": 1,
    }


def _event_row(
    shipment_id: UUID,
    event_type: str,
    actor_id: UUID | None,
    at: Any,
    data: dict[str, Any],
    source: str = "dispatch",
) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "shipment_id": shipment_id,
        "source": source,
        "type": event_type,
        "actor_id": actor_id,
        "occurred_at": at,
        "effective_at": at,
        "received_at": at,
        "data": data,
        "anomalies": [],
    }


def _fold_event(event: ShipmentEvent) -> FoldEvent:
    return FoldEvent(
        id=event.id,
        type=event.type,
        source=event.source,
        effective_at=event.effective_at,
        device_id=event.device_id,
        seq=event.seq,
    )


def _event_read(event: ShipmentEvent, fold_anomalies: list[str]) -> EventRead:
    return EventRead(
        id=event.id,
        type=event.type,
        source=event.source,
        occurred_at=event.occurred_at,
        effective_at=event.effective_at,
        received_at=event.received_at,
        data=event.data,
        anomalies=[*event.anomalies, *fold_anomalies],
        device_id=event.device_id,
        seq=event.seq,
    )


def shipment_read(shipment: Shipment, parcels: Sequence[Parcel]) -> ShipmentRead:
    window = (
        Window(start=shipment.window_start, end=shipment.window_end)
        if shipment.window_start and shipment.window_end
        else None
    )
    return ShipmentRead(
        id=shipment.id,
        tracking_number=shipment.tracking_number,
        tracking_token=shipment.tracking_token,
        status=shipment.status,
        hub_id=shipment.hub_id,
        zone_id=shipment.zone_id,
        outside_zones=shipment.outside_zones,
        reference=shipment.reference,
        recipient=shipment.recipient,
        address=shipment.address,
        location=point_from_db(shipment.location),
        window=window,
        service_level=shipment.service_level,
        requirements=shipment.requirements,
        notes=shipment.notes,
        parcels=[ParcelRead(barcode=p.barcode, weight_kg=p.weight_kg) for p in parcels],
        attempts=shipment.attempts,
        delivered_at=shipment.delivered_at,
        created_at=shipment.created_at,
        updated_at=shipment.updated_at,
    )


def driver_view(shipment: ShipmentRead) -> DriverShipmentRead:
    return DriverShipmentRead(
        id=shipment.id,
        tracking_number=shipment.tracking_number,
        status=shipment.status,
        hub_id=shipment.hub_id,
        zone_id=shipment.zone_id,
        reference=shipment.reference,
        recipient={k: v for k, v in shipment.recipient.items() if k in DRIVER_RECIPIENT_FIELDS},
        address=shipment.address,
        location=shipment.location,
        window=shipment.window,
        service_level=shipment.service_level,
        requirements=shipment.requirements,
        notes=shipment.notes,
        parcels=shipment.parcels,
        attempts=shipment.attempts,
        delivered_at=shipment.delivered_at,
        updated_at=shipment.updated_at,
    )


def _without(data: dict[str, Any], hidden: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in hidden}


def _error(index: int, status: int, detail: str, field: str) -> BulkError:
    return BulkError(
        index=index, status=status, detail=detail, errors=[{"field": field, "message": detail}]
    )


def _reference_taken(index: int, reference: str, existing: UUID | None) -> BulkError:
    """409 naming the shipment that has the reference (None: an earlier item of this call)."""
    detail = (
        f"Reference {reference} is taken by shipment {existing}"
        if existing
        else f"Reference {reference} appears earlier in this call"
    )
    error = _error(index, 409, detail, "reference")
    error.code = "reference_taken"
    if existing:
        error.existing_id = existing
        error.errors[0]["existing_id"] = str(existing)
    return error


def _validation_error(index: int, message: str) -> BulkError:
    field, text = describe_validation(message)
    return _error(index, 422, f"{field}: {text}", field)


def _field(error: BulkError) -> str | None:
    return error.errors[0]["field"] if error.errors else None
