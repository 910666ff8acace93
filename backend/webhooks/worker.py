"""Webhook delivery worker: any number may run, in the API process or alone.

It keeps up to `max_in_flight` attempts going at once, at most `per_endpoint` to any one
endpoint, so a slow or dead receiver holds a few slots and never the others'. Each round is
one short transaction: the outcomes of the attempts finished since the last round are recorded
(one statement for the batch) and due deliveries claimed for the free slots (`FOR UPDATE SKIP
LOCKED`, with a lease); they are sent outside any transaction. A worker that dies after a
receiver's 2xx and before recording it leaves the lease to lapse: another worker then sends
the same event again, with the same `webhook-id`, so receivers deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import random
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.session import unit_of_work
from backend.incidents.service import IncidentService, NewIncident
from backend.lib.clock import utcnow
from backend.webhooks.queue import DeliveryQueue, Outcomes
from backend.webhooks.sender import Outcome, Outgoing, Sender, next_delay
from backend.webhooks.signing import message_id, secret_key

log = logging.getLogger("lastmile.webhooks")
# Longer than an attempt can take (15 s timeout), so a live worker's claim never lapses.
LEASE = timedelta(seconds=60)
PROBE_EVERY_SECONDS = 0.5
FLUSH_EVERY_SECONDS = 0.05


class WebhookWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        allow_private: bool = False,
        max_in_flight: int = 128,
        per_endpoint: int = 8,
        claim_size: int = 100,
        poll_seconds: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.allow_private = allow_private
        self.max_in_flight = max_in_flight
        self.per_endpoint = per_endpoint
        self.claim_size = claim_size
        self.poll_seconds = poll_seconds
        self.rng = rng or random.Random()
        self._in_flight: Counter[Any] = Counter()
        self._sending = 0  # claimed and not finished yet
        self._outgoing: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._done: list[tuple[Outgoing, Outcome, datetime]] = []
        self._last_probe = -PROBE_EVERY_SECONDS
        self._probed_last = False
        self._flush_batch = max(1, max_in_flight // 4)
        self._last_flush = 0.0
        self._batch_done = asyncio.Event()

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self.run(stop)

    async def run_until_idle(self) -> int:
        """Send until nothing is due (tests, scripts); returns the attempts made."""
        return await self.run(asyncio.Event(), until_idle=True)

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> int:
        _freeze_startup_heap()
        attempts = 0
        async with Sender(
            allow_private=self.allow_private, max_connections=self.max_in_flight
        ) as sender:
            self._outgoing, self._sending = asyncio.Queue(), 0
            self._in_flight.clear()
            # A fixed set of senders, each taking the next claimed delivery: no task per attempt.
            lanes = [asyncio.create_task(self._lane(sender)) for _ in range(self.max_in_flight)]
            try:
                attempts += await self._loop(stop, until_idle)
            finally:
                for lane in lanes:
                    lane.cancel()
                await asyncio.gather(*lanes, return_exceptions=True)
        return attempts

    async def _loop(self, stop: asyncio.Event, until_idle: bool) -> int:
        attempts = 0
        while not stop.is_set():
            try:
                recorded, claimed = await self._round()
            except Exception:
                log.exception("webhook worker round failed")
                recorded, claimed = 0, 0
                await _wait(stop, self.poll_seconds)
            attempts += recorded
            if claimed:
                continue
            if self._sending:
                await self._until_batch()
            elif not self._done:
                if until_idle and self._probed_last:
                    break
                if until_idle:  # idle only once failing endpoints were looked at too
                    self._last_probe = -PROBE_EVERY_SECONDS
                    continue
                await _wait(stop, self.poll_seconds)
        if self._sending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(20):
                    await self._until_sent()
        if self._done:
            attempts += (await self._round(final=True))[0]
        return attempts

    async def _round(self, *, final: bool = False) -> tuple[int, int]:
        """One short transaction: record the finished attempts (once enough have finished, a
        quarter of the slots, or a little while has passed), then claim due deliveries with a
        lease for the free slots (once a quarter of them are free). Returns (recorded,
        claimed)."""
        done = self._finished(force=final or not self._sending)
        room = 0 if final else self._room()
        if not done and not room:
            return 0, 0
        try:
            async with unit_of_work(self.sessionmaker) as session:
                queue = DeliveryQueue(session)
                await queue.worker_settings()
                if done:
                    await self._record(session, done)
                rows = await self._claim(queue, room) if room else []
        except BaseException:
            self._done = done + self._done  # recorded next round; the leases still hold
            raise
        for row in rows:
            item = _outgoing(row)
            self._in_flight[item.endpoint_id] += 1
            self._outgoing.put_nowait(item)
        self._sending += len(rows)
        return len(done), len(rows)

    def _finished(self, *, force: bool) -> list[tuple[Outgoing, Outcome, datetime]]:
        if not self._done:
            return []
        waited = time.monotonic() - self._last_flush
        if not force and len(self._done) < self._flush_batch and waited < FLUSH_EVERY_SECONDS:
            return []
        self._last_flush = time.monotonic()
        done, self._done = self._done, []
        return done

    def _room(self) -> int:
        room = min(self.claim_size, self.max_in_flight - self._sending)
        # Wait for slots rather than claim in dribs.
        return room if room >= max(1, min(self.claim_size, self.max_in_flight) // 4) else 0

    async def _claim(self, queue: DeliveryQueue, room: int) -> list[Any]:
        busy = [ep for ep, n in self._in_flight.items() if n >= self.per_endpoint]
        return await queue.claim(
            utcnow(),
            room,
            per_endpoint=self.per_endpoint,
            busy_endpoints=busy,
            lease=LEASE,
            probe_failing=self._probe_due(),
        )

    async def _lane(self, sender: Sender) -> None:
        while True:
            await self._send(sender, await self._outgoing.get())

    async def _until_batch(self) -> None:
        """Until a batch of attempts has finished (or the last one), FLUSH_EVERY_SECONDS at most:
        woken once per batch, not once per attempt."""
        self._batch_done.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._batch_done.wait(), FLUSH_EVERY_SECONDS)

    async def _until_sent(self) -> None:
        """Until every claimed attempt has finished (on the way out; bounded by the caller)."""
        while self._sending:
            await self._until_batch()

    def _probe_due(self) -> bool:
        """Failing endpoints are looked at twice a second at most: their retries are seconds
        to hours apart, and scanning them on every claim would slow the healthy ones."""
        now = time.monotonic()
        self._probed_last = now - self._last_probe >= PROBE_EVERY_SECONDS
        if self._probed_last:
            self._last_probe = now
        return self._probed_last

    async def _send(self, sender: Sender, item: Outgoing) -> None:
        now = utcnow()
        try:
            outcome = await sender.send(item, now)
        except Exception as exc:  # a bug, not the receiver: keep the attempt and retry later
            log.exception("webhook send failed")
            outcome = Outcome(None, f"{type(exc).__name__}: {exc}"[:500], None, 0)
        self._done.append((item, outcome, now))
        left = self._in_flight[item.endpoint_id] - 1
        if left > 0:
            self._in_flight[item.endpoint_id] = left
        else:
            del self._in_flight[item.endpoint_id]
        self._sending -= 1
        if len(self._done) >= self._flush_batch or not self._sending:
            self._batch_done.set()

    async def _record(
        self, session: AsyncSession, done: list[tuple[Outgoing, Outcome, datetime]]
    ) -> None:
        queue = DeliveryQueue(session)
        outcomes = Outcomes()
        failing, gone = set(), set()
        hold: dict[Any, datetime] = {}
        for item, outcome, started in done:
            status, next_at = self._verdict(item, outcome, started)
            outcomes.delivery_ids.append(item.delivery_id)
            outcomes.attempts.append(item.attempt)
            outcomes.statuses.append(status)
            outcomes.started_at.append(started)
            outcomes.duration_ms.append(outcome.duration_ms)
            outcomes.status_codes.append(outcome.status_code)
            outcomes.errors.append(outcome.error)
            outcomes.response_bodies.append(outcome.response_body)
            outcomes.next_attempt_at.append(next_at)
            if outcome.delivered:
                outcomes.healthy.add(item.endpoint_id)
            else:
                failing.add(item.endpoint_id)
                if outcome.gone:
                    gone.add(item.endpoint_id)
                elif next_at is not None:
                    hold[item.endpoint_id] = max(next_at, hold.get(item.endpoint_id, next_at))
        await queue.record(outcomes)
        if not failing:
            return
        healthy = outcomes.healthy
        await queue.hold_endpoints(
            sorted((ep, at) for ep, at in hold.items() if ep not in healthy), utcnow()
        )
        disabled = await queue.endpoints_failing(sorted(failing - healthy), sorted(gone), utcnow())
        if disabled:
            await _endpoints_disabled(session, disabled)

    def _verdict(
        self, item: Outgoing, outcome: Outcome, started: datetime
    ) -> tuple[str, datetime | None]:
        if outcome.delivered:
            return "delivered", None
        if outcome.gone:
            return "failed", None
        delay = next_delay(item.attempt, outcome.retry_after, self.rng)
        return ("failed", None) if delay is None else ("pending", started + delay)


@functools.cache
def _freeze_startup_heap() -> None:
    """Once per process: what exists when the first worker starts (modules, the app, pools) lives
    as long as the process, so it leaves the cyclic collector's sight. Otherwise every full
    collection walks those ~150,000 objects, and the objects of attempts in flight keep
    triggering them: measured, 83 µs of collector time per delivery before, 26 after."""
    gc.freeze()


# The HMAC key of a secret, decoded once per secret rather than once per attempt.
_key = functools.lru_cache(maxsize=4096)(secret_key)


def _outgoing(row: Any) -> Outgoing:
    secrets = [row["secret"], *([row["previous_secret"]] if row["previous_secret"] else [])]
    return Outgoing(
        delivery_id=row["id"],
        endpoint_id=row["endpoint_id"],
        attempt=row["attempts"],
        message_id=message_id(row["event_id"]),
        url=row["url"],
        keys=[_key(s) for s in secrets],
        body=bytes(row["body"]),
    )


async def _endpoints_disabled(session: AsyncSession, rows: list[Any]) -> None:
    """An incident per endpoint disabled, so its owner is told (dispatch triages it)."""
    await IncidentService(session).open(
        [
            NewIncident(
                kind="webhook_endpoint_disabled",
                dedupe_key=f"webhook_endpoint_disabled:{row['id']}:{row['failing_since']}",
                occurred_at=utcnow(),
                data={
                    "endpoint_id": str(row["id"]),
                    "organization_id": str(row["organization_id"] or ""),
                    "url": row["url"],
                    "reason": row["disabled_reason"],
                },
            )
            for row in rows
        ]
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
