"""Outbox worker: claims due rows with `FOR UPDATE SKIP LOCKED`, so any number can run.

Each topic has one handler. A handler that raises leaves its row for a later try with
exponential backoff (capped); the error is kept on the row. Handlers must be idempotent: a row
can run twice if a worker dies between the side effect and its commit.

Lock order: a batch runs in one transaction, so the row locks its handlers take are held until
the end. A handler locks at most the shipment its row names (`payload.shipment_id`), and the
batch runs in shipment-id order, which is the order every other writer of shipments (the push,
dispatch edits) takes them in: no cycle, no deadlock (tests/outbox/test_lock_order.py).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.session import unit_of_work
from backend.lib.clock import utcnow
from backend.outbox.models import OutboxMessage
from backend.outbox.repository import OutboxRepository

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
log = logging.getLogger("lastmile.outbox")
MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2**attempts), MAX_BACKOFF)


NO_SHIPMENT = UUID(int=0)


def lock_order(message: OutboxMessage) -> tuple[UUID, int]:
    """Shipment id first (the global lock order), then outbox order within a shipment."""
    payload = message.payload
    shipment_id = payload.get("shipment_id") if isinstance(payload, dict) else None
    try:
        return (UUID(shipment_id) if shipment_id else NO_SHIPMENT, message.id)
    except (TypeError, ValueError, AttributeError):
        return (NO_SHIPMENT, message.id)


class OutboxWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, Handler],
        *,
        batch_size: int = 100,
        poll_seconds: float = 1.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.handlers = handlers
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds

    async def run_once(self) -> int:
        """Process one batch of due rows; returns how many were handled successfully."""
        async with unit_of_work(self.sessionmaker) as session:
            repo = OutboxRepository(session)
            now = utcnow()
            done: list[int] = []
            for message in sorted(await repo.claim(now, self.batch_size), key=lock_order):
                handler = self.handlers.get(message.topic)
                try:
                    if handler is None:
                        raise LookupError(f"no handler for topic {message.topic!r}")
                    async with session.begin_nested():
                        await handler(session, message.payload)
                    done.append(message.id)
                except Exception as exc:
                    message.attempts += 1
                    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    message.available_at = now + backoff(message.attempts)
                    log.warning("outbox %s #%s failed: %s", message.topic, message.id, exc)
            await repo.mark_done(done, now)
            return len(done)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox batch failed")
                handled = 0
            if handled < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
