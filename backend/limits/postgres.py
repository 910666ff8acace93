"""Rate limits kept in PostgreSQL: shared by every API process, no extra service.

One statement per hit, on a small asyncpg pool of the limiter's own: never the request's
transaction (a refused sign-in rolls its request back, and its hit must stay counted), and
not through the ORM engine, whose checkout and reset cost more than the statement. The
database's clock is the only clock, so processes on different machines agree.
"""

from __future__ import annotations

import asyncio

import asyncpg

from backend.limits.rates import Rate
from backend.limits.stores import EPSILON

HIT = """
WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS now),
granted AS (
    INSERT INTO rate_limits AS b (key, tat)
    SELECT $1, now + $2 FROM clock
    ON CONFLICT (key) DO UPDATE
        SET tat = greatest(b.tat, excluded.tat - $2) + $2
        WHERE greatest(b.tat, excluded.tat - $2) + $2 - $3 <= excluded.tat - $2 + $4
    RETURNING tat
)
SELECT (SELECT now FROM clock) AS now,
       (SELECT tat FROM granted) AS granted,
       (SELECT tat FROM rate_limits WHERE key = $1) AS held
"""
RESET = "DELETE FROM rate_limits WHERE key = $1"
# Keys whose budget is full again carry no information; a few are dropped now and then.
PRUNE = """
DELETE FROM rate_limits WHERE key IN (
    SELECT key FROM rate_limits
    WHERE tat < extract(epoch FROM clock_timestamp()) LIMIT 1000)
"""
PRUNE_EVERY = 1024
POOL_SIZE = 4


class PostgresStore:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._hits = 0

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=1,
                        max_size=POOL_SIZE,
                        server_settings={"application_name": "lastmile-limits"},
                    )
        return self._pool

    async def hit(self, key: str, rate: Rate) -> float:
        pool = await self._connections()
        now, granted, held = await pool.fetchrow(HIT, key, rate.interval, rate.period, EPSILON)
        self._hits += 1
        if self._hits % PRUNE_EVERY == 0:
            await pool.execute(PRUNE)
        if granted is not None:
            return 0.0
        if held is None:  # refused against a row our snapshot cannot see: one interval
            return rate.interval
        return max(held + rate.interval - rate.period - now, EPSILON)

    async def reset(self, key: str) -> None:
        await (await self._connections()).execute(RESET, key)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
