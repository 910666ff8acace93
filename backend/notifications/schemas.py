from datetime import datetime
from uuid import UUID

import msgspec


class NotificationRead(msgspec.Struct):
    id: UUID
    # A recipient's message names its shipment; an on-call message its incident.
    shipment_id: UUID | None
    incident_id: UUID | None
    kind: str
    attempt: int
    channel: str
    recipient: str
    body: str
    provider: str
    provider_ref: str | None
    status: str
    created_at: datetime
    sent_at: datetime | None
