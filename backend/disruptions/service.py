"""Disruptions: detected (posted), a recovery planned by the worker in one re-plan, applied
(live, after a dispatcher confirms or at once when allowed), and measured after the day.

A drill runs the same detection and re-plan on the day's state as it stands, and stops there:
its recovery can be read but never applied, so nothing anyone else sees changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.disruptions.models import Disruption
from backend.disruptions.repository import OPEN_STATUSES, DisruptionRepository
from backend.disruptions.schemas import (
    ContingencyIn,
    ContingencyRead,
    DisruptionCreate,
    DisruptionRead,
    DriverUnavailable,
    HubClosed,
    Impact,
    Outcome,
    Timeline,
    VehicleBreakdown,
    VolumeSpike,
    ZoneClosed,
)
from backend.drivers.service import DriverService
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.live.messages import LiveMessage, announce
from backend.network.service import NetworkService
from backend.partners.service import OrganizationService
from backend.planning.models import Plan
from backend.planning.repository import PlanningRepository

DRIVER_KINDS = ("vehicle_breakdown", "driver_unavailable")
DEFAULT_TIME_LIMIT_S = 5
LOOKBACK = dt.timedelta(hours=48)  # how late a disruption may be reported


class DisruptionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = DisruptionRepository(session)

    # detection -------------------------------------------------------------------------------

    async def create(self, data: DisruptionCreate, actor_id: UUID | None) -> DisruptionRead:
        now = utcnow()
        hub_id, details, subject = await self._subject(data, now)
        # Reported after the fact, it is re-planned from when it happened, that day.
        today = dt.datetime.fromisoformat(details["at"]).date()
        await self.repo.lock_subject(f"{data.mode}:{subject}:{today}")
        if data.mode == "live" and await self._open_duplicate(data, hub_id, today, subject):
            raise Conflict("This disruption is already being handled", code="disruption_open")
        affected = await self._affected(data, hub_id, today)
        contingency = await self.repo.contingency(hub_id)
        time_limit = contingency.recovery_time_limit_s if contingency else DEFAULT_TIME_LIMIT_S
        disruption = await self.repo.add(
            Disruption(
                kind=kind_of(data),
                mode=data.mode,
                status="planning",
                hub_id=hub_id,
                date=today,
                details=details,
                auto_apply=data.auto_apply,
                affected={"shipment_ids": [str(s) for s in affected]},
                detected_at=now,  # when we learned of it; `details.at` is when it happened
                created_by=actor_id,
            )
        )
        plan = await PlanningRepository(self.session).add(
            Plan(
                hub_id=hub_id,
                date=today,
                purpose="recovery",
                status="queued",
                objective="distance",
                time_limit_s=float(time_limit),
                # A drill's plan shows on no live feed: a drill changes nothing anyone sees.
                request={"disruption_id": str(disruption.id), "quiet": data.mode == "drill"},
                created_by=actor_id,
            )
        )
        disruption.plan_id = plan.id
        await self.session.flush()
        announce_disruption(self.session, disruption)
        return disruption_read(disruption)

    async def _subject(self, data: DisruptionCreate, now: dt.datetime) -> tuple[UUID, dict, str]:
        """(hub, details as stored, what it is about) after checking every id it names."""
        at = data.at or now
        if at.tzinfo is None:
            raise Invalid("Give a time zone", field="at", code="naive_time")
        if not now - LOOKBACK <= at <= now + dt.timedelta(minutes=5):
            raise Invalid("`at` must be within the last 48 hours", field="at", code="range")
        hub_id, details, subject = await self._about(data, at)
        return hub_id, details | {"at": at.isoformat()}, subject

    async def _about(self, data: DisruptionCreate, at: dt.datetime) -> tuple[UUID, dict, str]:
        network = NetworkService(self.session)
        if isinstance(data, VehicleBreakdown | DriverUnavailable):
            driver = await DriverService(self.session).require(data.driver_id)
            details: dict[str, Any] = {"driver_id": str(driver.id)}
            if isinstance(data, VehicleBreakdown) and data.location is not None:
                details["location"] = data.location.coordinates[:2]
            return driver.home_hub_id, details, f"driver:{driver.id}"
        if isinstance(data, HubClosed):
            await network.require_hub(data.hub_id)
            _check_until(data.until, at)
            details = {"until": data.until.isoformat()}
            if data.fallback_hub_id is not None:
                if data.fallback_hub_id == data.hub_id:
                    raise Invalid("The fallback must be another hub", field="fallback_hub_id")
                await network.require_hub(data.fallback_hub_id, field="fallback_hub_id")
                details["fallback_hub_id"] = str(data.fallback_hub_id)
            return data.hub_id, details, f"hub:{data.hub_id}"
        if isinstance(data, ZoneClosed):
            zone = await network.require_zone(data.zone_id)
            _check_until(data.until, at)
            details = {
                "zone_id": str(zone.id),
                "until": data.until.isoformat(),
                "reason": data.reason,
            }
            return zone.hub_id, details, f"zone:{zone.id}"
        assert isinstance(data, VolumeSpike)
        await network.require_hub(data.hub_id)
        return data.hub_id, {"extra": data.extra}, f"spike:{data.hub_id}:{at.isoformat()}"

    async def _open_duplicate(
        self, data: DisruptionCreate, hub_id: UUID, today: dt.date, subject: str
    ) -> bool:
        kind = kind_of(data)
        for other in await self.repo.live_on(hub_id, today, [kind]):
            if subject == _subject_of(other):
                return True
        return False

    async def _affected(self, data: DisruptionCreate, hub_id: UUID, today: dt.date) -> list[UUID]:
        """The shipments whose delivery today the disruption puts at risk."""
        if isinstance(data, VolumeSpike):
            return await self.repo.unrouted_today(hub_id, today, data.extra)
        stops = await self.repo.day_stops(hub_id, today)
        if isinstance(data, VehicleBreakdown | DriverUnavailable):
            return [
                s.shipment_id
                for s in stops
                if s.driver_id == data.driver_id and s.status in OPEN_STATUSES
            ]
        if isinstance(data, ZoneClosed):
            return [
                s.shipment_id
                for s in stops
                if s.zone_id == data.zone_id and s.status in OPEN_STATUSES
            ]
        assert isinstance(data, HubClosed)
        # Parcels still in the closed hub: on routes but not loaded yet, and today's unrouted.
        waiting = [s.shipment_id for s in stops if s.status in ("created", "at_hub")]
        return waiting + await self.repo.unrouted_today(hub_id, today, 10_000)

    # reads -----------------------------------------------------------------------------------

    async def get(self, disruption_id: UUID) -> DisruptionRead:
        disruption = await self.repo.get(disruption_id)
        if disruption is None:
            raise NotFound("No such disruption")
        if disruption.mode == "live" and disruption.status == "applied":
            await self.measure(disruption)
        return disruption_read(disruption)

    async def page(
        self, *, cursor: str | None, limit: int, hub_id: UUID | None
    ) -> Page[DisruptionRead]:
        rows = await self.repo.page(after=decode_cursor(cursor), limit=limit + 1, hub_id=hub_id)
        return page_of([disruption_read(d) for d in rows], limit, lambda d: d.id)

    async def drivers_out(self, hub_id: UUID, date: dt.date) -> set[UUID]:
        """Drivers a live disruption took out of the day (breakdown, unavailable)."""
        return {
            UUID(d.details["driver_id"])
            for d in await self.repo.live_on(hub_id, date, DRIVER_KINDS)
        }

    async def measure(self, disruption: Disruption) -> None:
        """The outcome from the event log: of the affected shipments, how many were delivered
        inside their window (a shipment without a window counts when delivered that day).
        Recovered once every affected shipment is delivered or failed for the day."""
        affected = [UUID(s) for s in disruption.affected.get("shipment_ids", [])]
        rows = await self.repo.deliveries(affected) if affected else []
        in_window = late = 0
        settled: list[dt.datetime] = []
        for row in rows:
            if row.delivered_at is not None:
                end = row.window_end or dt.datetime.combine(
                    disruption.date + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC
                )
                if row.delivered_at <= end:
                    in_window += 1
                else:
                    late += 1
            if row.settled_at is not None and row.status not in OPEN_STATUSES:
                settled.append(row.settled_at)
        total = len(affected)
        disruption.outcome = {
            "affected": total,
            "delivered_in_window": in_window,
            "delivered_late": late,
            "not_delivered": total - in_window - late,
            "share_in_window": round(in_window / total, 4) if total else 1.0,
        }
        if total and len(settled) == total and disruption.recovered_at is None:
            disruption.recovered_at = max(settled)
        await self.session.flush()

    # contingency -----------------------------------------------------------------------------

    async def contingency(self, hub_id: UUID) -> ContingencyRead:
        await NetworkService(self.session).get_hub(hub_id)  # 404 for an unknown hub
        row = await self.repo.contingency(hub_id)
        if row is None:
            return ContingencyRead(hub_id, [], None, [], False, DEFAULT_TIME_LIMIT_S)
        return contingency_read(row)

    async def set_contingency(self, hub_id: UUID, data: ContingencyIn) -> ContingencyRead:
        network = NetworkService(self.session)
        await network.get_hub(hub_id)
        if data.fallback_hub_id is not None:
            if data.fallback_hub_id == hub_id:
                raise Invalid("The fallback must be another hub", field="fallback_hub_id")
            await network.require_hub(data.fallback_hub_id, field="fallback_hub_id")
        drivers = DriverService(self.session)
        for n, driver_id in enumerate(data.spare_driver_ids):
            await drivers.require(driver_id, field=f"spare_driver_ids[{n}]")
        organizations = OrganizationService(self.session)
        for n, partner_id in enumerate(data.partner_order):
            try:
                await organizations.require_carrier(partner_id)
            except Invalid as error:  # named by its place in the list, not `organization_id`
                raise Invalid(error.detail, field=f"partner_order[{n}]", code=error.code) from None
        row = await self.repo.save_contingency(
            {
                "hub_id": hub_id,
                "spare_driver_ids": sorted({str(d) for d in data.spare_driver_ids}),
                "fallback_hub_id": data.fallback_hub_id,
                "partner_order": [str(p) for p in data.partner_order],
                "auto_apply": data.auto_apply,
                "recovery_time_limit_s": data.recovery_time_limit_s,
            }
        )
        return contingency_read(row)


def kind_of(data: DisruptionCreate) -> str:
    """The `kind` tag the body was decoded by."""
    return str(data.__struct_config__.tag)


def _check_until(until: dt.datetime, at: dt.datetime) -> None:
    if until.tzinfo is None:
        raise Invalid("Give a time zone", field="until", code="naive_time")
    if until <= at:
        raise Invalid("`until` must be after the disruption", field="until", code="range")
    if until > at + dt.timedelta(days=30):
        raise Invalid("`until` must be within 30 days", field="until", code="range")


def _subject_of(d: Disruption) -> str:
    if d.kind in DRIVER_KINDS:
        return f"driver:{d.details['driver_id']}"
    if d.kind == "hub_closed":
        return f"hub:{d.hub_id}"
    if d.kind == "zone_closed":
        return f"zone:{d.details['zone_id']}"
    return f"spike:{d.id}"


def announce_disruption(session: AsyncSession, d: Disruption) -> None:
    if d.mode == "drill":
        return  # a drill is seen only by whoever reads it
    announce(
        session,
        [
            LiveMessage(
                type="disruption.changed",
                data={"disruption_id": str(d.id), "kind": d.kind, "status": d.status},
            )
        ],
    )


def disruption_read(d: Disruption) -> DisruptionRead:
    return DisruptionRead(
        id=d.id,
        kind=d.kind,
        mode=d.mode,  # type: ignore[arg-type]
        status=d.status,  # type: ignore[arg-type]
        hub_id=d.hub_id,
        date=d.date,
        details=d.details,
        auto_apply=d.auto_apply,
        plan_id=d.plan_id,
        affected_shipment_ids=[UUID(s) for s in d.affected.get("shipment_ids", [])],
        impact=Impact(**d.impact) if d.impact else None,
        outcome=Outcome(**d.outcome) if d.outcome else None,
        timeline=Timeline(d.detected_at, d.plan_ready_at, d.applied_at, d.recovered_at),
    )


def contingency_read(row: Any) -> ContingencyRead:
    return ContingencyRead(
        hub_id=row.hub_id,
        spare_driver_ids=[UUID(d) for d in row.spare_driver_ids],
        fallback_hub_id=row.fallback_hub_id,
        partner_order=[UUID(p) for p in row.partner_order],
        auto_apply=row.auto_apply,
        recovery_time_limit_s=row.recovery_time_limit_s,
    )


async def apply_recovery(
    session: AsyncSession, disruption_id: UUID, actor_id: UUID | None
) -> DisruptionRead:
    """A dispatcher confirms a live disruption's recovery. A drill never applies."""
    from backend.disruptions.apply import RecoveryApplier

    repo = DisruptionRepository(session)
    disruption = await repo.get(disruption_id, for_update=True)
    if disruption is None:
        raise NotFound("No such disruption")
    if disruption.mode == "drill":
        raise Conflict("A drill changes nothing; its recovery cannot be applied", code="drill")
    if disruption.status == "applied":
        raise Conflict("The recovery was already applied", code="recovery_applied")
    if disruption.status != "ready" or disruption.plan_id is None:
        raise Conflict(
            f"The recovery is {disruption.status}; it is not ready", code="recovery_not_ready"
        )
    plan = await PlanningRepository(session).get(disruption.plan_id, for_update=True)
    assert plan is not None
    await RecoveryApplier(session).apply(disruption, plan, actor_id)
    announce_disruption(session, disruption)
    return disruption_read(disruption)
