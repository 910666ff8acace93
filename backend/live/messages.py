"""What the live feeds carry, and how a change announces it: registered on the session, published
after the commit by the process's publisher, never from inside the write transaction.

Other domains call `announce` (or `announce_positions`) from their services; the messages leave
only if and when the unit of work commits. See docs/live-feeds.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import after_commit

PUBLISHER_KEY = "live.publisher"
PENDING_KEY = "live.pending"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; stay clearly below.
MAX_PAYLOAD_BYTES = 7_500
STAFF_ONLY = None


class LiveMessage(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One thing that happened, small enough for a screen: ids and the fields it shows.

    `seq` is the position in the shipment's own stream (SSE event id) for messages that are
    kept for replay; `partner_id` names the one partner who may also see it (staff see all);
    `at` is stamped when the commit that produced it returned.
    """

    type: str
    shipment_id: UUID | None = None
    driver_id: UUID | None = None
    seq: int | None = None
    partner_id: UUID | None = None
    at: datetime | None = None
    data: dict[str, Any] = {}


class Publisher(Protocol):
    def publish(self, messages: Sequence[LiveMessage]) -> None: ...


def announce(session: AsyncSession, messages: Iterable[LiveMessage]) -> None:
    """Queue messages on the session; they are published once its unit of work commits."""
    batch = list(messages)
    if not batch:
        return
    pending = session.info.get(PENDING_KEY)
    if pending is None:
        pending = session.info[PENDING_KEY] = []
        publisher: Publisher | None = session.info.get(PUBLISHER_KEY)
        after_commit(session, lambda: _flush(session.info, publisher))
    pending.extend(batch)


def _flush(info: dict[str, Any], publisher: Publisher | None) -> None:
    messages = info.pop(PENDING_KEY, [])
    if publisher is not None and messages:
        publisher.publish(messages)


class PositionThrottle:
    """At most one position per driver per `interval` seconds from this process."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[UUID, float] = {}

    def due(self, driver_ids: Iterable[UUID]) -> set[UUID]:
        now = time.monotonic()
        due = {d for d in driver_ids if now - self._last.get(d, -1e18) >= self.interval}
        for driver_id in due:
            self._last[driver_id] = now
        if len(self._last) > 50_000:  # forget drivers not seen for a while
            self._last = {d: t for d, t in self._last.items() if now - t < self.interval}
        return due


THROTTLE_KEY = "live.position_throttle"


def announce_positions(
    session: AsyncSession, positions: Iterable[tuple[UUID, float, float, datetime]]
) -> None:
    """Latest driver positions `(driver_id, lon, lat, at)` for the dispatch feed, throttled per
    driver (`LASTMILE_LIVE_POSITION_INTERVAL_SECONDS`). Staff only; never replayed."""
    latest: dict[UUID, tuple[float, float, datetime]] = {}
    for driver_id, lon, lat, at in positions:
        if driver_id not in latest or latest[driver_id][2] < at:
            latest[driver_id] = (lon, lat, at)
    throttle: PositionThrottle | None = session.info.get(THROTTLE_KEY)
    due = throttle.due(latest) if throttle else set(latest)
    announce(
        session,
        (
            LiveMessage(
                type="driver.position",
                driver_id=driver_id,
                data={"lon": lon, "lat": lat, "fix_at": fix_at.isoformat()},
            )
            for driver_id, (lon, lat, fix_at) in latest.items()
            if driver_id in due
        ),
    )


_encoder = msgspec.json.Encoder()


def encode_batches(messages: Sequence[LiveMessage]) -> Iterator[bytes]:
    """JSON arrays of messages, each under MAX_PAYLOAD_BYTES (one NOTIFY each)."""
    chunk: list[bytes] = []
    size = 2
    for message in messages:
        encoded = _encoder.encode(message)
        if len(encoded) + 2 > MAX_PAYLOAD_BYTES:
            raise ValueError(f"live message of {len(encoded)} bytes is too large: {message.type}")
        if chunk and size + len(encoded) + 1 > MAX_PAYLOAD_BYTES:
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"


decode_batch = msgspec.json.Decoder(list[LiveMessage]).decode
