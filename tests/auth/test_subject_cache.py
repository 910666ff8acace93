"""The subject check's cache: immediate on the revoking process, bounded by the TTL elsewhere."""

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.auth.schemas import Principal
from backend.auth.subjects import SubjectCache, Verdict
from tests.auth.support import bearer, tokens_for
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.factories import Api


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_verdicts_are_cached_for_the_ttl_and_forgotten_per_user() -> None:
    clock = FakeClock()
    cache = SubjectCache(5.0, clock)
    principal = Principal(user_id=uuid.uuid4(), role="admin", session_id=uuid.uuid4())
    loads: list[Verdict] = []
    answer: Verdict = "ok"

    async def load() -> Verdict:
        loads.append(answer)
        return answer

    assert await cache.verdict(principal, load) == "ok"
    answer = "token_revoked"
    clock.now += 4.9
    assert await cache.verdict(principal, load) == "ok"  # within the TTL: cached
    clock.now += 0.2
    assert await cache.verdict(principal, load) == "token_revoked"  # expired: loaded again
    answer = "ok"
    cache.forget([principal.user_id])
    assert await cache.verdict(principal, load) == "ok"  # forgotten: loaded at once
    assert len(loads) == 3


async def test_a_lookup_overtaken_by_a_revocation_is_not_stored() -> None:
    cache = SubjectCache(5.0, FakeClock())
    principal = Principal(user_id=uuid.uuid4(), role="admin", session_id=uuid.uuid4())

    async def load_then_revoked() -> Verdict:
        cache.forget([principal.user_id])  # a revocation commits while we look
        return "ok"

    async def load_revoked() -> Verdict:
        return "token_revoked"

    assert await cache.verdict(principal, load_then_revoked) == "ok"
    assert await cache.verdict(principal, load_revoked) == "token_revoked"


async def test_no_cache_with_a_ttl_of_zero() -> None:
    cache = SubjectCache(0.0)
    principal = Principal(user_id=uuid.uuid4(), role="admin", session_id=uuid.uuid4())
    calls = 0

    async def load() -> Verdict:
        nonlocal calls
        calls += 1
        return "ok"

    for _ in range(3):
        await cache.verdict(principal, load)
    assert calls == 3


async def test_revocation_is_immediate_here_and_within_the_ttl_on_another_process(
    app: Litestar, client: AsyncTestClient
) -> None:
    """Two apps on one database stand for two processes; the other's clock is moved on."""
    other_app: Litestar = create_app(make_settings(auth_subject_cache_seconds=5.0))
    clock = FakeClock()
    other_app.state.subjects.clock = clock
    tokens = await tokens_for(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    async with AsyncTestClient(app=other_app) as other_client:
        here, there = bearer(client, tokens), Api(other_client, tokens["access_token"], "admin")
        assert (await there.get("/v1/hubs")).status_code == 200  # cached there now

        assert (await here.post("/v1/auth/logout")).status_code == 204
        assert (await here.get("/v1/hubs")).status_code == 401  # at once where it happened
        clock.now += 4.0
        assert (await there.get("/v1/hubs")).status_code == 200  # the other: still cached
        clock.now += 1.5
        response = await there.get("/v1/hubs")
        assert response.status_code == 401  # past the TTL
        assert response.json()["code"] == "token_revoked"
