"""Rate limits kept in PostgreSQL: shared by every API process, no extra service.

One statement per hit, on its own autocommitted connection (never the request's transaction: a
refused sign-in rolls its request back, and its hit must stay counted). The database's clock is
the only clock, so processes on different machines agree.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.limits.rates import Rate
from backend.limits.stores import EPSILON

HIT = text("""
WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now),
granted AS (
    INSERT INTO rate_limits AS b (key, tat)
    SELECT :key, now + :interval FROM clock
    ON CONFLICT (key) DO UPDATE
        SET tat = greatest(b.tat, excluded.tat - :interval) + :interval
        WHERE greatest(b.tat, excluded.tat - :interval) + :interval - :period
            <= excluded.tat - :interval + :epsilon
    RETURNING tat
)
SELECT (SELECT now FROM clock) AS now,
       (SELECT tat FROM granted) AS granted,
       (SELECT tat FROM rate_limits WHERE key = :key) AS held
""")
RESET = text("DELETE FROM rate_limits WHERE key = :key")
# Keys whose budget is full again carry no information; a few are dropped now and then.
PRUNE = text("""
DELETE FROM rate_limits WHERE key IN (
    SELECT key FROM rate_limits
    WHERE tat < extract(epoch FROM clock_timestamp()) LIMIT 1000)
""")
PRUNE_EVERY = 1024


class PostgresStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._hits = 0

    async def hit(self, key: str, rate: Rate) -> float:
        params = {"key": key, "interval": rate.interval, "period": rate.period, "epsilon": EPSILON}
        async with self.engine.connect() as connection:
            now, granted, held = (await connection.execute(HIT, params)).one()
            self._hits += 1
            if self._hits % PRUNE_EVERY == 0:
                await connection.execute(PRUNE)
        if granted is not None:
            return 0.0
        if held is None:  # refused against a row our snapshot cannot see: one interval
            return rate.interval
        return max(held + rate.interval - rate.period - now, EPSILON)

    async def reset(self, key: str) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(RESET, {"key": key})

    async def close(self) -> None:
        """The engine belongs to the app, which disposes of it."""
