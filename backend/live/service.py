"""Live-feed announcements of shipment changes, kept for replay and published after commit."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.lib.errors import NotFound
from backend.live.messages import LiveMessage, announce
from backend.live.repository import LiveRepository

REPLAY_PAGE = 500
# A fresh stream (no Last-Event-ID) starts with at most this many of the latest entries.
FRESH_REPLAY = 50


class LiveService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = LiveRepository(session)

    async def status_changed(self, changes: Mapping[UUID, tuple[str, str]]) -> None:
        """Called by the fold with {shipment: (before, after)}; the rows are locked already."""
        moved = {sid: change for sid, change in changes.items() if change[0] != change[1]}
        if not moved:
            return
        rows = await self.repo.append_status_changes(
            [(sid, moved[sid][0], moved[sid][1]) for sid in sorted(moved)]
        )
        self._announce(rows)

    async def eta_changed(self, shipment_id: UUID, eta: str | None, previous: str | None) -> bool:
        """An ETA change for the feeds; False when the shipment does not exist."""
        if not await self.repo.lock_shipments([shipment_id]):
            return False
        data = {"eta": eta, "previous_eta": previous}
        self._announce(await self.repo.append_feed([(shipment_id, "shipment.eta", data)]))
        return True

    def _announce(self, rows: Sequence[asyncpg.Record]) -> None:
        announce(self.session, (feed_message(row) for row in rows))

    async def shipment_for_token(self, token: str) -> UUID:
        shipment_id = await self.repo.shipment_for_token(token)
        if shipment_id is None:
            raise NotFound("No such tracking link")
        return shipment_id

    async def replay(self, shipment_id: UUID, after: int | None) -> list[LiveMessage]:
        """What a client that has seen `after` missed (all of it), or for a fresh client the
        latest entries."""
        if after is None:
            return [feed_message(r) for r in await self.repo.feed_latest(shipment_id, FRESH_REPLAY)]
        messages: list[LiveMessage] = []
        while True:
            rows = await self.repo.feed_after(shipment_id, after, REPLAY_PAGE)
            messages += [feed_message(row) for row in rows]
            if len(rows) < REPLAY_PAGE:
                return messages
            after = rows[-1]["seq"]


_decode = msgspec.json.Decoder(dict[str, Any]).decode


def feed_message(row: asyncpg.Record) -> LiveMessage:
    return LiveMessage(
        type=row["type"],
        shipment_id=row["shipment_id"],
        seq=row["seq"],
        at=row["created_at"],
        data=_decode(row["data"]),
    )
