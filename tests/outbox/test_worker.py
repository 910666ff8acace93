"""The outbox worker: claims due rows, retries with backoff, never runs one row twice at once."""

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.outbox.service import OutboxService
from backend.outbox.worker import OutboxWorker
from tests.conftest import make_settings


async def _announce(sessionmaker, topic: str, payloads: list[dict[str, Any]]) -> None:
    async with unit_of_work(sessionmaker) as session:
        await OutboxService(session).announce(topic, payloads)


async def test_rows_are_handled_once_and_failures_retried_later(app, db) -> None:
    engine = make_engine(make_settings())
    sessionmaker = make_sessionmaker(engine)
    seen: list[int] = []
    flaky_calls = 0

    async def record(_: AsyncSession, payload: dict[str, Any]) -> None:
        seen.append(payload["n"])

    async def flaky(_: AsyncSession, payload: dict[str, Any]) -> None:
        nonlocal flaky_calls
        flaky_calls += 1
        raise RuntimeError("receiver down")

    try:
        await _announce(sessionmaker, "test.record", [{"n": n} for n in range(5)])
        await _announce(sessionmaker, "test.flaky", [{"n": 99}])
        await _announce(sessionmaker, "test.unknown", [{"n": 100}])
        workers = [
            OutboxWorker(sessionmaker, {"test.record": record, "test.flaky": flaky}, batch_size=2)
            for _ in range(3)
        ]
        for _ in range(4):
            await asyncio.gather(*(worker.run_once() for worker in workers))
        assert sorted(seen) == [0, 1, 2, 3, 4]
        assert flaky_calls == 1  # retried only after its backoff
        failed = await db.fetch(
            "SELECT topic, attempts, last_error, available_at > now() AS later"
            " FROM outbox WHERE processed_at IS NULL ORDER BY id"
        )
        assert [(r["topic"], r["attempts"], r["later"]) for r in failed] == [
            ("test.flaky", 1, True),
            ("test.unknown", 1, True),
        ]
        assert "receiver down" in failed[0]["last_error"]
    finally:
        await engine.dispose()
