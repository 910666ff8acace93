"""Outbox handlers of the notifications and live feeds (registered in backend/outbox/handlers.py).

`shipment.eta_changed` and `shipment.instruction_accepted` are written by the tracking and
recipient services in the transaction of the change; these turn them into live-feed entries and
notification requests. Live messages are registered last, after every write of the handler.
"""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.live.service import LiveService
from backend.notifications.service import NotificationService
from backend.webhooks.service import WebhookService


async def send_notification(session: AsyncSession, payload: dict[str, Any]) -> None:
    await NotificationService(session).send(payload)


async def send_on_call(session: AsyncSession, payload: dict[str, Any]) -> None:
    await NotificationService(session).send_on_call(payload)


async def eta_changed(session: AsyncSession, payload: dict[str, Any]) -> None:
    """{shipment_id, eta, previous_eta}: an "ETA window" message and a live-feed entry."""
    shipment_id = UUID(payload["shipment_id"])
    eta = payload.get("eta")
    await NotificationService(session).request(shipment_id, "eta_window", {"eta": eta})
    if await LiveService(session).eta_changed(shipment_id, eta, payload.get("previous_eta")):
        await WebhookService(session).shipment_events(
            [
                (
                    shipment_id,
                    "shipment.eta_changed",
                    {"eta": eta, "previous_eta": payload.get("previous_eta")},
                )
            ],
            lock=True,
        )


async def instruction_accepted(session: AsyncSession, payload: dict[str, Any]) -> None:
    """{shipment_id, type}: a "rerouted" message naming what the recipient asked for."""
    shipment_id = UUID(payload["shipment_id"])
    await NotificationService(session).request(
        shipment_id, "rerouted", {"instruction": payload.get("type")}
    )
    await WebhookService(session).shipment_events(
        [(shipment_id, "shipment.rerouted", {"instruction": payload.get("type")})], lock=True
    )


HANDLERS = {
    "notification.send": send_notification,
    "incident.escalated": send_on_call,
    "shipment.eta_changed": eta_changed,
    "shipment.instruction_accepted": instruction_accepted,
}
