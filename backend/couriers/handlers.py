"""Outbox handlers of the courier domain (registered in backend/outbox/handlers.py)."""

import logging
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.couriers.checks import CheckRequest, checks_for
from backend.couriers.messages import MESSAGE_TOPIC, ApplicantMessages
from backend.couriers.repository import CourierRepository
from backend.couriers.review import CHECK_TOPIC
from backend.couriers.transitions import STATUS_CHANGED_TOPIC
from backend.webhooks.service import WebhookService

log = logging.getLogger("lastmile.couriers")
# What a `courier.status_changed` webhook carries (the outbox row's payload, docs/webhooks.md).
STATUS_CHANGED_FIELDS = ("application_id", "driver_id", "from_status", "to_status", "reason", "at")


async def send_message(session: AsyncSession, payload: dict[str, Any]) -> None:
    await ApplicantMessages(session).send(payload)


async def request_check(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Hand a committed check to the provider; it answers at the signed callback."""
    checks = checks_for(session)
    if checks is None:
        raise RuntimeError("no check provider configured in this process")
    repo = CourierRepository(session)
    check = await repo.check(UUID(payload["check_id"]))
    if check is None or check.status != "requested":
        return  # decided already (a retried row)
    application = await repo.application(check.application_id)
    assert application is not None  # the foreign key holds it
    await checks.provider.start(
        CheckRequest(
            check_id=check.id,
            application_id=application.id,
            name=application.name,
            email=application.email,
            vehicle_kind=application.vehicle_kind,
            callback_url=checks.callback_url(check.id),
        )
    )


async def status_changed(session: AsyncSession, payload: dict[str, Any]) -> None:
    """`courier.status_changed` to the admin endpoints subscribed to it (a courier belongs to
    no organisation). A retried row runs in a new transaction: the failed try left nothing."""
    log.info(
        "courier %s: %s -> %s",
        payload.get("application_id"),
        payload.get("from_status"),
        payload.get("to_status"),
    )
    data = {key: payload.get(key) for key in STATUS_CHANGED_FIELDS}
    await WebhookService(session).announce(STATUS_CHANGED_TOPIC, [(data, None)])


HANDLERS = {
    MESSAGE_TOPIC: send_message,
    CHECK_TOPIC: request_check,
    STATUS_CHANGED_TOPIC: status_changed,
}
