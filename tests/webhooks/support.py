from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook

from backend.webhooks import worker as worker_module
from backend.webhooks.worker import WebhookWorker
from tests.factories import Api


class FakeClock:
    """The worker's clock, moved by the test."""

    def __init__(self) -> None:
        # A little ahead, so what the test writes next (stamped by the database) is due.
        self.now = datetime.now(UTC) + timedelta(seconds=5)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def use_clock(monkeypatch, clock: FakeClock) -> None:
    monkeypatch.setattr(worker_module, "utcnow", clock)


async def endpoint(api: Api, url: str, types: list[str] | None = None, **extra: Any) -> dict:
    body = {
        "url": url,
        "event_types": types
        or [
            "shipment.created",
            "shipment.status_changed",
            "shipment.handed_over",
            "shipment.delivered",
            "shipment.out_for_delivery",
        ],
    } | extra
    return await api.created("/v1/webhook-endpoints", body)


def verify(secret: str, received) -> dict[str, Any]:
    """What a receiver does: check the signature with the public library, then read it."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    return Webhook(secret).verify(received.body, headers)


def worker(sessionmaker, **options: Any) -> WebhookWorker:
    return WebhookWorker(sessionmaker, allow_private=True, poll_seconds=0.05, **options)
