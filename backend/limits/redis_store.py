"""Rate limits kept in Redis (when the live feeds use Redis already): one script per hit, on
Redis's own clock, the key expiring once its budget is full again."""

from __future__ import annotations

from redis.asyncio import Redis

from backend.limits.rates import Rate
from backend.limits.stores import EPSILON

# KEYS[1] the key; ARGV: interval, period, epsilon (seconds). Returns the wait, "0" if allowed.
GCRA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval, period, epsilon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new = tat + interval
local wait = new - period - now
if wait > epsilon then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(new), 'PX', math.ceil((new - now) * 1000) + 1)
return '0'
"""


class RedisStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(GCRA)

    async def hit(self, key: str, rate: Rate) -> float:
        wait = await self._script(
            keys=[self.prefix + key], args=[rate.interval, rate.period, EPSILON]
        )
        return float(wait)

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)

    async def close(self) -> None:
        await self.redis.aclose()
