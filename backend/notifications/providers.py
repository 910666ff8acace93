"""Where notifications leave the system: a provider per deployment, chosen by configuration.

`record` (the default) sends nothing anywhere: the `notifications` table is the record, which
`GET /v1/notifications` lists. A gateway of your own is a `module:factory` path in
`LASTMILE_NOTIFICATIONS_PROVIDER`; the factory returns an object with a `name` and an async
`send(message) -> reference`. A `send` that raises is retried by the outbox with backoff.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.lib.ids import uuid7

Channel = Literal["sms", "email"]
NOTIFIER_KEY = "notifications.notifier"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    shipment_id: UUID
    kind: str
    attempt: int
    channel: Channel
    to: str
    body: str

    @property
    def idempotency_key(self) -> str:
        """The same for every retry of this message: hand it to gateways that deduplicate."""
        return f"{self.shipment_id}:{self.kind}:{self.attempt}"


class NotificationProvider(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> str | None:
        """Hand the message over; return the provider's reference for it, if any."""
        ...


class RecordingProvider:
    """Delivers nowhere; the stored notification row is the message."""

    name = "record"

    async def send(self, message: OutgoingMessage) -> str | None:
        return f"record-{uuid7()}"


def load_provider(spec: str) -> NotificationProvider:
    if spec == "record":
        return RecordingProvider()
    module_name, _, factory_name = spec.partition(":")
    if not module_name or not factory_name:
        raise ValueError(
            f"notifications provider must be 'record' or 'module:factory', not {spec!r}"
        )
    factory = getattr(importlib.import_module(module_name), factory_name)
    return factory()


@dataclass(frozen=True, slots=True)
class Notifier:
    """What the outbox handlers need from the process: the provider and the public base URL."""

    provider: NotificationProvider
    public_url: str = ""

    def tracking_link(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/t/{token}"


def notifier_for(session: AsyncSession) -> Notifier:
    return session.info.get(NOTIFIER_KEY) or Notifier(RecordingProvider())


def notifier_from(settings: Settings) -> Notifier:
    return Notifier(load_provider(settings.notifications_provider), settings.public_base_url)
