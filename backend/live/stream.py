"""One shipment's Server-Sent Events: replay from the database, then live, without gaps.

The order of work is what makes it gapless: watch the hub first, then read the database, then
stream. An entry committed before the read is in the replay; one committed after it is
published after its commit, so the hub (already watching) receives it. A replay read on a
replica may miss the newest entries (committed and published before the stream watched, not yet
replayed there): `catch_up` then reads what follows the replay from the primary before going
live, a small indexed read. The seam is de-duplicated by `seq`. Entries of one shipment commit
in `seq` order but two processes may publish them out of order: a message whose `seq` skips
ahead makes the stream read the missing ones from the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from uuid import UUID

from litestar.response import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.session import unit_of_work
from backend.live.hub import LiveHub, Subscription, encode_one
from backend.live.messages import LiveMessage
from backend.live.service import LiveService

KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2_000


class ShipmentStream:
    def __init__(
        self,
        hub: LiveHub,
        sessionmaker: async_sessionmaker[AsyncSession],
        shipment_id: UUID,
        last_seq: int | None,
        on_close: Callable[[], None] = lambda: None,
        *,
        catch_up: bool = False,
    ) -> None:
        self.hub = hub
        self.sessionmaker = sessionmaker
        self.shipment_id = shipment_id
        self.last = last_seq or 0
        self.on_close = on_close  # hands back the connection slot
        self.catch_up = catch_up
        self._watch = hub.shipment(shipment_id)
        self.subscription: Subscription = self._watch.__enter__()

    def close(self) -> None:
        self.on_close()
        self._watch.__exit__(None, None, None)

    async def events(self, replay: Sequence[LiveMessage]) -> AsyncIterator[ServerSentEventMessage]:
        """`replay` was read after this stream started watching (see the module docstring)."""
        try:
            yield ServerSentEventMessage(retry=RETRY_MS, comment="stream open")
            for message in replay:
                yield self._sent(message)
            if self.catch_up:
                for message in await self._read_after(self.last):
                    yield self._sent(message)
            while True:
                try:
                    delivery = await asyncio.wait_for(self.subscription.next(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ServerSentEventMessage(comment="keepalive")
                    continue
                if delivery is None:  # cut off (slow reader or lost listener): client resumes
                    return
                message, _ = delivery
                if message.seq is None or message.seq <= self.last:
                    continue
                if message.seq > self.last + 1:
                    for missed in await self._read_after(self.last):
                        if missed.seq is not None and missed.seq > self.last:
                            yield self._sent(missed)
                    if message.seq <= self.last:
                        continue
                yield self._sent(message)
        finally:
            self.close()

    def _sent(self, message: LiveMessage) -> ServerSentEventMessage:
        self.last = message.seq or self.last
        return ServerSentEventMessage(
            data=encode_one(message).decode(), event=message.type, id=str(message.seq)
        )

    async def _read_after(self, seq: int) -> list[LiveMessage]:
        async with unit_of_work(self.sessionmaker) as session:
            return await LiveService(session).replay(self.shipment_id, seq)
