"""The rate limits: named rules (a rate from the settings) applied to subjects.

A rule is enforced with `await limiter.enforce("instructions", token)`: a 429 with Retry-After
once the subject's budget is spent. Subjects are hashed into the store's keys, so neither e-mail
addresses nor tracking tokens sit in Redis or the `rate_limits` table. A rule set `off` costs
nothing. Adding a rule is a setting plus one row in `RULES`. When the store cannot be reached
the limits fail open (logged): they protect the API, they must not stop it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from urllib.parse import urlsplit

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from backend.config import Settings
from backend.lib.errors import RateLimited
from backend.limits.postgres import PostgresStore
from backend.limits.rates import Rate, parse_rate
from backend.limits.redis_store import RedisStore
from backend.limits.stores import MemoryStore, Store

log = logging.getLogger("lastmile.limits")
STORE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, RedisError)

# rule → (setting holding its rate, what the 429 says)
RULES: dict[str, tuple[str, str]] = {
    "sign_in_account": (
        "rate_limit_sign_in_account",
        "Too many sign-in attempts for this account",
    ),
    "sign_in_address": (
        "rate_limit_sign_in_address",
        "Too many sign-in attempts from this address",
    ),
    "account": ("rate_limit_account", "Too many requests for this account"),
    "instructions": ("rate_limit_instructions", "Too many instructions for this shipment"),
    "streams": ("rate_limit_streams", "Too many streams opened for this shipment"),
}


class RateLimiter:
    def __init__(self, store: Store, rates: dict[str, Rate | None]) -> None:
        self.store = store
        self.rates = rates

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> RateLimiter:
        rates = {rule: parse_rate(getattr(settings, name)) for rule, (name, _) in RULES.items()}
        return cls(store, rates)

    def enabled(self, rule: str) -> bool:
        return self.rates[rule] is not None

    async def enforce(self, rule: str, subject: str) -> None:
        """Count one hit of `subject` under `rule`; 429 (nothing counted) when it is over."""
        rate = self.rates[rule]
        if rate is None:
            return
        try:
            wait = await self.store.hit(_key(rule, subject), rate)
        except STORE_ERRORS as exc:
            # Fail open: a limiter whose store is down must not take the API down with it.
            log.warning("rate limit store unavailable, %s not enforced: %r", rule, exc)
            return
        if wait > 0:
            raise RateLimited(f"{RULES[rule][1]}; try again later", retry_after=wait)

    async def reset(self, rule: str, subject: str) -> None:
        if self.rates[rule] is not None:
            try:
                await self.store.reset(_key(rule, subject))
            except STORE_ERRORS as exc:
                log.warning("rate limit store unavailable, %s not reset: %r", rule, exc)

    async def close(self) -> None:
        await self.store.close()


def _key(rule: str, subject: str) -> str:
    digest = hashlib.blake2b(subject.encode("utf-8", "surrogatepass"), digest_size=16)
    return f"{rule}:{digest.hexdigest()}"


def store_kind(settings: Settings) -> str:
    """`auto`: Redis when the live feeds use it; PostgreSQL when `lastmile serve` runs several
    processes; else the one process's memory (exact there, and free)."""
    if settings.rate_limit_backend != "auto":
        return settings.rate_limit_backend
    if settings.channels_backend == "redis":
        return "redis"
    return "postgres" if settings.workers > 1 else "memory"


def make_limiter(settings: Settings) -> RateLimiter:
    kind = store_kind(settings)
    store: Store
    if kind == "redis":
        redis = Redis.from_url(settings.redis_url, client_name=f"lastmile-limits-{os.getpid()}")
        database = urlsplit(settings.plain_database_url).path.lstrip("/")
        store = RedisStore(redis, prefix=f"lastmile:{database}:limit:")
    elif kind == "postgres":
        store = PostgresStore(settings.plain_database_url)
    else:
        store = MemoryStore()
    return RateLimiter.from_settings(settings, store)
