from datetime import datetime
from uuid import UUID

import msgspec


class NotificationRead(msgspec.Struct):
    id: UUID
    shipment_id: UUID
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
