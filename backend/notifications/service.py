"""Recipient notifications: requested through the outbox in the transaction of the change, sent
by the worker through the provider, at most one of each kind per shipment per attempt."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.lib.clock import utcnow
from backend.lib.ids import uuid7
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.notifications.messages import on_call_text, render
from backend.notifications.providers import OutgoingMessage, notifier_for
from backend.notifications.repository import NotificationRepository
from backend.notifications.schemas import NotificationRead
from backend.outbox.service import OutboxService

TOPIC = "notification.send"
# A hub's on-call contact told of an urgent incident nobody acknowledged (backend/incidents/rules).
ON_CALL_TOPIC = "incident.escalated"
ON_CALL_KIND = "incident_escalated"
# A status reached by the fold -> the notification it asks for.
KIND_FOR_STATUS = {
    "out_for_delivery": "on_the_way",
    "delivered": "delivered",
    "attempt_failed": "failed",
}
# A message still worth sending when the worker gets to it, by the shipment's status then.
# (None: whatever the status.) An "on the way" found after the delivery is dropped, not sent.
RELEVANT_WHILE: dict[str, frozenset[str] | None] = {
    "on_the_way": frozenset({"out_for_delivery"}),
    "eta_window": frozenset({"created", "at_hub", "out_for_delivery"}),
    "rerouted": frozenset({"created", "at_hub", "out_for_delivery", "attempt_failed"}),
    "delivered": frozenset({"delivered"}),
    "failed": None,
    # Dispatch gave the delivery a new window (an incident's playbook).
    "new_window": frozenset({"created", "at_hub", "out_for_delivery", "attempt_failed"}),
}


def attempt_of(status: str, attempts: int) -> int:
    """The delivery attempt a status belongs to: the fold counts an attempt once it ends
    (delivered or failed), so a shipment still on its way is on attempt `attempts + 1`."""
    return attempts if status in ("delivered", "attempt_failed") else attempts + 1


class NotificationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = NotificationRepository(session)

    async def status_changed(
        self, changes: Mapping[UUID, tuple[str, str]], attempts: Mapping[UUID, int]
    ) -> None:
        """Called by the fold with {shipment: (before, after)} and the attempts it counted (what
        it just wrote): request what the new statuses ask for, in this transaction."""
        wanted = {
            sid: KIND_FOR_STATUS[after]
            for sid, (before, after) in changes.items()
            if before != after and after in KIND_FOR_STATUS
        }
        if not wanted:
            return
        await OutboxService(self.session).announce(
            TOPIC,
            [
                {
                    "shipment_id": str(sid),
                    "kind": kind,
                    "attempt": attempt_of(changes[sid][1], attempts[sid]),
                }
                for sid, kind in sorted(wanted.items())
            ],
        )

    async def request(self, shipment_id: UUID, kind: str, data: dict[str, Any]) -> None:
        """Request one notification for the shipment's current attempt."""
        current = await self.repo.attempts([shipment_id])
        if shipment_id not in current:
            return
        payload = {"shipment_id": str(shipment_id), "kind": kind, "data": data}
        await OutboxService(self.session).announce(
            TOPIC, [payload | {"attempt": attempt_of(*current[shipment_id])}]
        )

    async def send(self, payload: dict[str, Any]) -> str:
        """The outbox handler's work; returns what happened (sent, duplicate, stale, …)."""
        shipment = await self.repo.recipient(UUID(payload["shipment_id"]))
        kind = payload["kind"]
        if shipment is None:
            return "unknown_shipment"
        relevant = RELEVANT_WHILE[kind]
        if relevant is not None and shipment["status"] not in relevant:
            return "stale"
        notifier = notifier_for(self.session)
        link = notifier.tracking_link(shipment["tracking_token"])
        body = render(kind, shipment["tracking_number"], link, payload.get("data") or {})
        channel, to = (
            ("sms", shipment["phone"])
            if shipment["phone"]
            else ("email", shipment["email"])
            if shipment["email"]
            else ("none", "")
        )
        row = {
            "id": uuid7(),
            "shipment_id": shipment["id"],
            "kind": kind,
            "attempt": payload["attempt"],
            "channel": channel,
            "recipient": to,
            "body": body,
            "provider": notifier.provider.name,
            "status": "undeliverable" if channel == "none" else "sent",
        }
        notification_id = await self.repo.claim(row)
        if notification_id is None:
            return "duplicate"
        if channel == "none":
            return "undeliverable"
        message = OutgoingMessage(shipment["id"], kind, payload["attempt"], channel, to, body)
        reference = await notifier.provider.send(message)
        await self.repo.mark_sent(notification_id, reference, utcnow())
        return "sent"

    async def send_on_call(self, payload: dict[str, Any]) -> str:
        """The outbox handler of `incident.escalated`: one message per incident to the on-call
        contact named in the payload (by phone, else e-mail; none: kept as undeliverable)."""
        incident_id = UUID(payload["incident_id"])
        notifier = notifier_for(self.session)
        body = on_call_text(payload)
        phone, email = payload.get("phone"), payload.get("email")
        channel, to = ("sms", phone) if phone else ("email", email) if email else ("none", "")
        row = {
            "id": uuid7(),
            "incident_id": incident_id,
            "kind": ON_CALL_KIND,
            "channel": channel,
            "recipient": to,
            "body": body,
            "provider": notifier.provider.name,
            "status": "undeliverable" if channel == "none" else "sent",
        }
        notification_id = await self.repo.claim_for_incident(row)
        if notification_id is None:
            return "duplicate"
        if channel == "none":
            return "undeliverable"
        # The provider interface names a shipment; the incident's id stands in (it keys the
        # provider's deduplication), as for couriers' messages.
        message = OutgoingMessage(incident_id, ON_CALL_KIND, 1, channel, to, body)
        reference = await notifier.provider.send(message)
        await self.repo.mark_sent(notification_id, reference, utcnow())
        return "sent"

    async def page(
        self, *, shipment_id: UUID | None, cursor: str | None, limit: int
    ) -> Page[NotificationRead]:
        rows = await self.repo.page(
            shipment_id=shipment_id, after=decode_cursor(cursor), limit=limit + 1
        )
        items = [
            NotificationRead(
                id=n.id,
                shipment_id=n.shipment_id,
                incident_id=n.incident_id,
                kind=n.kind,
                attempt=n.attempt,
                channel=n.channel,
                recipient=n.recipient,
                body=n.body,
                provider=n.provider,
                provider_ref=n.provider_ref,
                status=n.status,
                created_at=n.created_at,
                sent_at=n.sent_at,
            )
            for n in rows
        ]
        return page_of(items, limit, lambda n: n.id)
