"""Push: a batch of events captured offline, applied in one transaction, answered per event.

The steps, each one statement for the whole batch:
  validate each event alone → claim the batch id and resolve what the events refer to →
  compute effective times → insert the accepted ones into the inbox and lock their shipments →
  re-fold touched shipments (their new log rows inserted already linked) → record proofs, incidents, manifest changes and
  position fixes → quarantine the rejected → advance the ack and store the response for replays.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.devices import driver_on_device
from backend.auth.schemas import Principal
from backend.incidents.service import IncidentService
from backend.lib.clock import utcnow
from backend.lib.errors import Invalid
from backend.pod.service import DEFAULT_GEOFENCE_M, PodService
from backend.shipments.service import ShipmentService
from backend.sync.batch import (
    Batch,
    Pending,
    about_shipments,
    delivery,
    event_row,
    fixes,
    log_row,
)
from backend.sync.changes import ManifestChangeLog
from backend.sync.repository import SyncRepository
from backend.sync.schemas import PushRequest, PushResponse
from backend.tracking.service import TrackingService


class PushService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        max_events: int,
        geofence_m: float = DEFAULT_GEOFENCE_M,
        position_retention_days: int = 30,
    ) -> None:
        self.session = session
        self.repo = SyncRepository(session)
        self.max_events = max_events
        self.geofence_m = geofence_m
        self.position_retention_days = position_retention_days

    async def push(self, principal: Principal, request: PushRequest) -> PushResponse | bytes:
        """The response, or the stored bytes of an earlier identical push of this batch."""
        driver_id = driver_on_device(principal, request.device_id, "events")
        if len(request.events) > self.max_events:
            raise Invalid(
                f"At most {self.max_events} events per push", field="events", code="too_many_events"
            )
        batch = Batch(driver_id, request)
        # Parsing writes nothing, so it may come before the claim (a replay discards it).
        pending = batch.parse()
        about_shipment, refs = about_shipments(pending)
        claimed, resolved = await self.repo.claim_batch(
            request.batch_id, driver_id, request.device_id, batch.request_hash, refs
        )
        if not claimed:
            return await self._replay(request.batch_id, driver_id, batch.request_hash)

        now = utcnow()
        batch.attach_shipments(about_shipment, resolved)
        starts = [p for p in pending if p.event.type == "route_started"]
        if starts:
            await self._resolve_routes(batch, starts)
        accepted = batch.accept(pending, now)

        # Routes before shipments (the inserts below lock them): dispatch edits lock a route
        # before its shipments, and the same order on both sides cannot deadlock.
        route_ids = sorted({p.route_id for p in accepted if p.route_id})
        started = await self.repo.start_routes(route_ids, now) if route_ids else []
        new_data, locked = await self.repo.insert_events(
            [event_row(item) for item in accepted],
            driver_id=driver_id,
            device_id=request.device_id,
            batch_id=request.batch_id,
            received_at=now,
        )
        await self._settle_existing(
            batch, [p for p in accepted if p.event.event_id not in new_data]
        )
        fresh = [p for p in accepted if p.event.event_id in new_data]
        # Shipments that are not re-folded keep the status they were locked with.
        statuses = locked | await self._apply(batch, fresh, started, locked, now, new_data)
        await TrackingService(
            self.session, retention_days=self.position_retention_days
        ).record_fixes(driver_id, request.device_id, fixes(fresh))
        await self.repo.quarantine(batch.quarantine)
        response = PushResponse(batch.answer(accepted, statuses), ack_seq=0, server_time=now)
        # The stored copy says ack_seq 0; the real one goes in a column beside it, from the
        # statement that advances it.
        response.ack_seq = await self.repo.finish_batch(
            request.batch_id, driver_id, request.device_id, msgspec.json.encode(response)
        )
        return response

    async def _replay(self, batch_id: UUID, driver_id: UUID, request_hash: bytes) -> bytes:
        stored = await self.repo.stored_batch(batch_id)
        if (
            stored is None
            or stored["driver_id"] != driver_id
            or stored["request_hash"] != request_hash
        ):
            raise Invalid(
                "This batch_id was already used with a different body",
                field="batch_id",
                code="batch_id_reused",
            )
        if stored["ack_seq"] is None:  # stored with its ack inside (before migration 0006)
            return stored["response"]
        response = msgspec.json.decode(stored["response"], type=PushResponse)
        response.ack_seq = stored["ack_seq"]
        return msgspec.json.encode(response)

    async def _resolve_routes(self, batch: Batch, starts: list[Pending]) -> None:
        driver_id = batch.driver_id
        by_stop = await self.repo.routes_of_stops(
            driver_id, [p.event.stop_id for p in starts if p.event.stop_id]
        )
        for item in starts:
            route_id = item.event.data.get("route_id")
            item.route_id = UUID(route_id) if route_id else by_stop.get(item.event.stop_id)  # type: ignore[arg-type]
        mine = await self.repo.driver_routes(driver_id, [p.route_id for p in starts if p.route_id])
        for item in starts:
            if item.route_id not in mine:
                batch.reject(item.index, "not_your_route")

    async def _settle_existing(self, batch: Batch, existing: list[Pending]) -> None:
        """Events already stored by an earlier push: same content is a duplicate, else a conflict."""
        if not existing:
            return
        hashes = await self.repo.stored_hashes([p.event.event_id for p in existing])
        for item in existing:
            if hashes.get(item.event.event_id) == item.content_hash:
                batch.duplicate(item)
            else:
                batch.reject(item.index, "conflicting_duplicate")

    async def _apply(
        self,
        batch: Batch,
        fresh: list[Pending],
        started: list[UUID],
        locked: dict[UUID, str],
        received_at: datetime,
        stored_data: dict[UUID, str],
    ) -> dict[UUID, str]:
        """Fold what changed, record proofs of delivery, open incidents, tell affected drivers
        (of changed shipments and of the routes this push started)."""
        driver_id, device_id = batch.driver_id, batch.request.device_id
        logged = [
            log_row(p, device_id, received_at, stored_data[p.event.event_id])
            for p in fresh
            if p.shipment_id
        ]
        touched = sorted({row["shipment_id"] for row in logged})
        folds = (
            await ShipmentService(self.session).refold(touched, locked=locked, appended=logged)
            if touched
            else {}
        )
        await PodService(self.session, geofence_m=self.geofence_m).record_deliveries(
            [delivery(p, driver_id, device_id) for p in fresh if p.event.type == "delivered"]
        )
        changes = ManifestChangeLog(self.session)
        moved = [sid for sid, (before, after) in folds.items() if before != after]
        if moved:
            await changes.shipments_changed(moved)
        if started:
            await changes.record(driver_id, [("route", route_id, "upsert") for route_id in started])
        conflicts = [p for p in fresh if p.custody_conflict]
        if conflicts:
            await IncidentService(self.session).custody_conflicts(
                [
                    (p.shipment_id, driver_id, p.event.event_id, p.effective_at, p.event.type)
                    for p in conflicts
                ]
            )
        return {sid: after for sid, (_, after) in folds.items()}
