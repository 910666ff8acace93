"""Recipient tracking and self-service, through the shipment's unguessable tracking token.

An accepted instruction becomes a `recipient` event on the shipment, changes the route (a
rescheduled or redirected shipment leaves it: the driver's next pull removes the stop; a safe
drop makes the driver's next pull refresh the shipment) and is announced in the outbox
(`shipment.instruction_accepted`) for the "rerouted" message, all in the request's transaction.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.geo import Point
from backend.manifests.service import RouteService
from backend.outbox.service import OutboxService
from backend.pod.pins import pin_for
from backend.pod.service import PodService
from backend.recipients import wording
from backend.recipients.repository import RecipientRepository
from backend.recipients.schemas import (
    CurrentInstruction,
    DriverPosition,
    HistoryItem,
    Instruction,
    Option,
    PickupPointChoice,
    PickupPointList,
    PickupPointOption,
    PodSummary,
    Reschedule,
    SafeDrop,
    TrackingView,
)
from backend.shipments.schemas import Window
from backend.shipments.service import ShipmentService
from backend.sync.changes import ManifestChangeLog
from backend.tracking.eta import REMAINING_STATUSES

INSTRUCTION_ACCEPTED = "shipment.instruction_accepted"
CLOSED_STATUSES = ("delivered", "returned", "cancelled")
EVENT_OF = {
    "reschedule": "rescheduled",
    "safe_drop": "safe_drop",
    "pickup_point": "redirected_to_pickup_point",
}
TYPE_OF = {event: kind for kind, event in EVENT_OF.items()}
PICKUP_POINTS_PROPOSED = 5
# Proofs a safe drop cannot give: nobody is there to sign, say a PIN or show an ID.
IN_PERSON_PROOFS = ("signature", "pin", "min_age")


class RecipientService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = RecipientRepository(session)

    # reads -----------------------------------------------------------------------------------

    async def view(self, token: str) -> TrackingView:
        shipment = await self._shipment(token)
        return await self._view(shipment)

    async def pickup_points(self, token: str) -> PickupPointList:
        shipment = await self._shipment(token)
        rows = await self._near(shipment, PICKUP_POINTS_PROPOSED)
        return PickupPointList(
            items=[_pickup_point(row) for row in rows],
            max_distance_m=int(self.settings.pickup_point_max_m),
        )

    # instructions ----------------------------------------------------------------------------

    async def instruct(self, token: str, instruction: Instruction) -> TrackingView:
        shipment = await self._shipment(token)
        kind = _kind(instruction)
        route = await self.repo.on_route(shipment["id"], REMAINING_STATUSES)
        refusal = self._refusal(kind, shipment, route)
        if refusal:
            raise Conflict(refusal[1], code=refusal[0])
        data = await self._validated(instruction, shipment)
        events = await self.repo.events(shipment["id"])
        if _latest_instruction(events) == (EVENT_OF[kind], data):
            return await self._view(shipment)  # the same instruction again changes nothing
        shipment_id: UUID = shipment["id"]
        # Locks in the order every route writer takes them (route, then shipment), so a
        # dispatcher editing the same route at the same moment cannot deadlock with us. The
        # checks above ran unlocked: a delivery racing in between is caught by the fold, which
        # flags an instruction after a closed state as an anomaly.
        if kind != "safe_drop":
            await RouteService(self.session).withdraw(shipment_id)
        await ShipmentService(self.session).record(
            [shipment_id], EVENT_OF[kind], actor_id=None, data=data, source="recipient"
        )
        if kind == "safe_drop":
            await ManifestChangeLog(self.session).shipments_changed([shipment_id])
        await OutboxService(self.session).announce(
            INSTRUCTION_ACCEPTED, [{"shipment_id": str(shipment_id), "type": kind}]
        )
        return await self._view(await self._shipment(token))

    async def _validated(
        self, instruction: Instruction, shipment: asyncpg.Record
    ) -> dict[str, Any]:
        """The instruction's own rules; returns the event data."""
        now = utcnow()
        horizon = timedelta(days=self.settings.reschedule_max_days)
        if isinstance(instruction, SafeDrop):
            return {"location_note": instruction.location_note.strip()}
        if isinstance(instruction, Reschedule):
            if instruction.date is not None:
                today = now.astimezone(UTC).date()
                if not today < instruction.date <= today + horizon:
                    raise Invalid(_horizon_text(self.settings), field="date", code="bad_date")
                return {"date": instruction.date.isoformat()}
            window: Window = instruction.window  # type: ignore[assignment]
            if not now < window.start <= now + horizon:
                raise Invalid(_horizon_text(self.settings), field="window", code="bad_window")
            if window.end - window.start > timedelta(hours=24):
                raise Invalid("A window spans at most 24 hours", field="window", code="bad_window")
            return {"window": msgspec.to_builtins(window)}
        assert isinstance(instruction, PickupPointChoice)
        if not await self.repo.pickup_point_exists(instruction.pickup_point_id):
            raise Invalid(
                "No such pickup point", field="pickup_point_id", code="unknown_pickup_point"
            )
        rows = await self._near(shipment, 1, only=instruction.pickup_point_id)
        if not rows:
            raise Invalid(
                f"That pickup point is more than {int(self.settings.pickup_point_max_m)} m away"
                " or does not serve this address",
                field="pickup_point_id",
                code="pickup_point_too_far",
            )
        return {
            "pickup_point_id": str(rows[0]["id"]),
            "pickup_point_name": rows[0]["name"],
            "distance_m": round(rows[0]["distance_m"]),
        }

    def _refusal(
        self, kind: str, shipment: asyncpg.Record, route: asyncpg.Record | None
    ) -> tuple[str, str] | None:
        """Why this instruction cannot be given now (code, words), or None."""
        status = shipment["status"]
        if status in CLOSED_STATUSES:
            return "shipment_closed", "This delivery is finished: " + wording.status_text(status)
        if status == "with_partner":
            return "with_partner", "Your parcel is with our delivery partner, who delivers it."
        if (
            route
            and _on_the_road(status, route)
            and (route["stops_before"] <= self.settings.instruction_lock_stops)
        ):
            return "driver_nearby", "The driver is only a few stops away; it is too late to change."
        requirements = _json(shipment["requirements"])
        if kind == "safe_drop" and any(requirements.get(p) for p in IN_PERSON_PROOFS):
            return (
                "proof_required",
                "This delivery needs a signature, a PIN or an age check, so it cannot be left.",
            )
        return None

    # internals -------------------------------------------------------------------------------

    async def _shipment(self, token: str) -> asyncpg.Record:
        shipment = await self.repo.shipment(token) if len(token) <= 64 else None
        if shipment is None:
            raise NotFound("No shipment for this tracking link")
        return shipment

    async def _near(
        self, shipment: asyncpg.Record, limit: int, only: UUID | None = None
    ) -> list[asyncpg.Record]:
        return await self.repo.pickup_points_near(
            shipment["lon"],
            shipment["lat"],
            within_m=self.settings.pickup_point_max_m,
            hub_id=shipment["hub_id"],
            limit=limit,
            only=only,
        )

    async def _view(self, shipment: asyncpg.Record) -> TrackingView:
        status: str = shipment["status"]
        pending = status in REMAINING_STATUSES
        route = await self.repo.on_route(shipment["id"], REMAINING_STATUSES) if pending else None
        events = await self.repo.events(shipment["id"])
        requirements = _json(shipment["requirements"])
        address = _json(shipment["address"])
        return TrackingView(
            tracking_number=shipment["tracking_number"],
            status=status,
            status_text=wording.status_text(status),
            destination=f"{address.get('postal_code', '')} {address.get('city', '')}".strip(),
            window=_window(shipment),
            eta=route["eta"] if route else None,
            stops_before=route["stops_before"] if route else None,
            driver_position=self._driver_position(status, route),
            history=_history(events),
            instruction=_current_instruction(events),
            pod=await self._pod(shipment["id"]) if status == "delivered" else None,
            pin=pin_for(shipment["id"], self.settings.secret_key)
            if requirements.get("pin") and status not in CLOSED_STATUSES
            else None,
            options=await self._options(shipment, route),
        )

    def _driver_position(self, status: str, route: asyncpg.Record | None) -> DriverPosition | None:
        if status != "out_for_delivery" or route is None or route["fix_at"] is None:
            return None
        if route["stops_before"] > self.settings.track_position_within_stops:
            return None
        return DriverPosition(Point.at(route["fix_lon"], route["fix_lat"]), route["fix_at"])

    async def _pod(self, shipment_id: UUID) -> PodSummary | None:
        summary = await PodService(self.session).recipient_summary(shipment_id)
        if summary is None:
            return None
        return PodSummary(
            handoff=summary.handoff,
            delivered_at=summary.delivered_at,
            text=wording.pod_text(summary.handoff, summary.delivered_at),
            photo_sha256s=list(summary.photo_sha256s),
        )

    async def _options(
        self, shipment: asyncpg.Record, route: asyncpg.Record | None
    ) -> list[Option]:
        options = []
        for kind in EVENT_OF:
            refusal = self._refusal(kind, shipment, route)
            if refusal is None and kind == "pickup_point" and not await self._near(shipment, 1):
                refusal = ("no_pickup_point", "There is no pickup point near this address.")
            options.append(Option(kind, refusal is None, refusal[1] if refusal else None))  # type: ignore[arg-type]
        return options


def _kind(instruction: Instruction) -> str:
    return type(instruction).__struct_config__.tag  # type: ignore[return-value]


def _on_the_road(status: str, route: asyncpg.Record) -> bool:
    return status == "out_for_delivery" or route["route_status"] == "in_progress"


def _json(value: Any) -> dict[str, Any]:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else (value or {})


def _window(shipment: asyncpg.Record) -> Window | None:
    if shipment["window_start"] and shipment["window_end"]:
        return Window(start=shipment["window_start"], end=shipment["window_end"])
    return None


def _history(events: list[asyncpg.Record]) -> list[HistoryItem]:
    items = []
    for event in events:
        text = wording.event_text(event["type"], _json(event["data"]))
        if text:
            items.append(HistoryItem(at=event["effective_at"], text=text))
    return items


def _recipient_events(events: list[asyncpg.Record]) -> list[asyncpg.Record]:
    return [e for e in events if e["source"] == "recipient" and e["type"] in TYPE_OF]


def _latest_instruction(events: list[asyncpg.Record]) -> tuple[str, dict[str, Any]] | None:
    mine = _recipient_events(events)
    return (mine[-1]["type"], _json(mine[-1]["data"])) if mine else None


def _current_instruction(events: list[asyncpg.Record]) -> CurrentInstruction | None:
    mine = _recipient_events(events)
    if not mine:
        return None
    latest, data = mine[-1], _json(mine[-1]["data"])
    return CurrentInstruction(
        type=TYPE_OF[latest["type"]],  # type: ignore[arg-type]
        at=latest["effective_at"],
        text=wording.instruction_text(latest["type"], data),
        details=data,
    )


def _pickup_point(row: asyncpg.Record) -> PickupPointOption:
    return PickupPointOption(
        id=row["id"],
        name=row["name"],
        location=Point.at(row["lon"], row["lat"]),
        distance_m=round(row["distance_m"]),
        opening_hours=_json(row["opening_hours"]) if row["opening_hours"] else None,
    )


def _horizon_text(settings: Settings) -> str:
    return f"Choose a time after now and within {settings.reschedule_max_days} days"
