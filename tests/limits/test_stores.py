"""The three stores give the same answers: a burst of `count`, then one per interval; exact under
concurrency when shared (PostgreSQL, Redis)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from backend.lib.errors import RateLimited
from backend.limits.limiter import RateLimiter, store_kind
from backend.limits.postgres import PostgresStore
from backend.limits.rates import Rate, parse_rate
from backend.limits.redis_store import RedisStore
from backend.limits.stores import MemoryStore, Store
from tests.conftest import make_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_rates_parse_as_settings_spell_them() -> None:
    assert parse_rate("10/15m") == Rate(10, 900)
    assert parse_rate("1/1s").interval == 1
    assert parse_rate("3/2d") == Rate(3, 172_800)
    assert parse_rate("off") is None


@pytest.mark.parametrize("value", ["0/1m", "10/0m", "10/1w", "10", "ten/1m", "10/1m\x00", "-1/1m"])
def test_a_malformed_rate_setting_stops_the_program(value: str) -> None:
    with pytest.raises(ValueError, match="LASTMILE_RATE_LIMIT_ACCOUNT"):
        make_settings(rate_limit_account=value)


def test_auto_picks_a_store_every_process_shares_when_there_are_several() -> None:
    assert store_kind(make_settings()) == "memory"
    assert store_kind(make_settings(workers=4)) == "postgres"
    assert store_kind(make_settings(channels_backend="redis")) == "redis"
    assert store_kind(make_settings(workers=4, rate_limit_backend="memory")) == "memory"


async def test_memory_store_allows_a_burst_then_one_per_interval() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    rate = Rate(3, 60)
    assert [await store.hit("k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await store.hit("k", rate) == pytest.approx(20)
    assert await store.hit("other", rate) == 0.0
    clock.now += 19.9
    assert await store.hit("k", rate) == pytest.approx(0.1)
    clock.now += 0.1
    assert await store.hit("k", rate) == 0.0
    await store.reset("k")
    assert [await store.hit("k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]


async def test_memory_store_forgets_keys_whose_budget_is_full_again() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock, max_keys=10)
    for index in range(10):
        await store.hit(f"k{index}", Rate(1, 5))
    clock.now += 6
    await store.hit("fresh", Rate(1, 5))
    assert list(store._tat) == ["fresh"]


async def test_a_flood_of_live_keys_does_not_rescan_the_table_on_every_hit() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock, max_keys=100)
    prunes = 0
    original = store._prune

    def counted(now: float) -> None:
        nonlocal prunes
        prunes += 1
        original(now)

    store._prune = counted  # type: ignore[method-assign]
    for index in range(10_000):  # none expires: every key stays live
        await store.hit(f"k{index}", Rate(1, 3600))
    assert len(store._tat) == 10_000
    assert prunes <= 8  # doubling: 100, 200, 400, … 6,400


@pytest.fixture
async def postgres_store(database: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(database)
    await (await store._connections()).execute("TRUNCATE rate_limits")
    yield store
    await store.close()


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    store = RedisStore(redis, prefix="test:")
    yield store
    await store.close()


@pytest.fixture(params=["postgres", "redis"])
def shared_store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(f"{request.param}_store")


async def test_a_shared_store_allows_a_burst_then_refuses_with_the_wait(
    shared_store: Store,
) -> None:
    rate = Rate(3, 3600)
    assert [await shared_store.hit("k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await shared_store.hit("k", rate)
    assert 1190 < wait <= 1200
    assert await shared_store.hit("other", rate) == 0.0
    await shared_store.reset("k")
    assert await shared_store.hit("k", rate) == 0.0


async def test_a_shared_store_refills_with_time(shared_store: Store) -> None:
    rate = Rate(2, 0.4)  # one more every 0.2 s
    assert [await shared_store.hit("k", rate) for _ in range(2)] == [0.0, 0.0]
    assert await shared_store.hit("k", rate) > 0
    await asyncio.sleep(0.25)
    assert await shared_store.hit("k", rate) == 0.0


async def test_concurrent_hits_on_a_shared_store_allow_exactly_the_budget(
    shared_store: Store,
) -> None:
    rate = Rate(10, 3600)
    waits = await asyncio.gather(*(shared_store.hit("hot", rate) for _ in range(40)))
    assert sum(1 for wait in waits if wait == 0.0) == 10


async def test_the_limiter_hashes_subjects_and_answers_429_with_retry_after() -> None:
    store = MemoryStore(clock=FakeClock())
    limiter = RateLimiter(store, {"instructions": Rate(1, 90), "streams": None})
    await limiter.enforce("instructions", "token\x00with nul and ünïcode \ud800")
    with pytest.raises(RateLimited) as refused:
        await limiter.enforce("instructions", "token\x00with nul and ünïcode \ud800")
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "90"}
    assert all(len(key) == len("instructions:") + 32 for key in store._tat)
    for _ in range(100):  # a rule set `off` never refuses
        await limiter.enforce("streams", "t")


async def test_a_store_that_cannot_be_reached_fails_open() -> None:
    limiter = RateLimiter(
        PostgresStore("postgresql://nobody@127.0.0.1:1/none"), {"account": Rate(1, 60)}
    )
    for _ in range(3):
        await limiter.enforce("account", "someone")
    await limiter.reset("account", "someone")
