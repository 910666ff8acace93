"""Messages to applicants (email codes, decisions), sent through the notification provider.

The message row is written with the change that causes it and handed to the provider by the
outbox worker (`courier.message`), so a rolled-back change sends nothing and a provider outage
only delays. The row is the record of what was sent.
"""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.couriers.models import CourierApplication, CourierMessage
from backend.couriers.repository import CourierRepository
from backend.lib.clock import utcnow
from backend.lib.ids import uuid7
from backend.notifications.providers import OutgoingMessage, notifier_for
from backend.outbox.service import OutboxService

MESSAGE_TOPIC = "courier.message"

STATUS_TEXT = {
    "submitted": "We received your courier application and will review it soon.",
    "under_review": "Your courier application is being reviewed.",
    "checks_pending": "We started your background check.",
    "approved": "Your courier application is approved.",
    "rejected": "Your courier application was not accepted.",
    "active": "You are now an active Lastmile courier: sign in with your email and password.",
    "suspended": "Your courier account is suspended.",
    "offboarded": "Your courier account is closed.",
}


def status_text(status: str, reason: str | None) -> str:
    text = STATUS_TEXT[status]
    return f"{text} Reason: {reason}" if reason else text


class ApplicantMessages:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = CourierRepository(session)

    async def queue(self, application: CourierApplication, kind: str, body: str) -> UUID:
        message = CourierMessage(
            id=uuid7(),
            application_id=application.id,
            kind=kind,
            channel="email",
            recipient=application.email,
            body=body,
        )
        self.repo.add(message)
        await self.repo.flush()
        await OutboxService(self.session).announce(MESSAGE_TOPIC, [{"message_id": str(message.id)}])
        return message.id

    async def send(self, payload: dict[str, Any]) -> str:
        """The outbox handler's work. Idempotent: a message already sent is not sent again."""
        message = await self.repo.message(UUID(payload["message_id"]))
        if message is None:
            return "unknown_message"
        if message.status == "sent":
            return "duplicate"
        notifier = notifier_for(self.session)
        # The provider interface names a shipment; an applicant message has none, so the
        # message's own id stands in (it keys the provider's deduplication).
        outgoing = OutgoingMessage(
            message.id, message.kind, 1, "email", message.recipient, message.body
        )
        message.provider_ref = await notifier.provider.send(outgoing)
        message.provider = notifier.provider.name
        message.status, message.sent_at = "sent", utcnow()
        await self.repo.flush()
        return "sent"
