"""Sign-in: per account and per address, with lockout semantics (docs/security-limits.md)."""

import asyncio

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.limits.support import assert_rate_limited, client_with

LOGIN = "/v1/auth/token"


def attempt(email: str, password: str = "wrong-password") -> dict[str, str]:
    return {"email": email, "password": password}


async def test_failures_lock_the_account_then_even_the_right_password_waits(truncated) -> None:
    async with client_with(rate_limit_sign_in_account="3/15m") as client:
        for _ in range(3):
            assert (await client.post(LOGIN, json=attempt(ADMIN_EMAIL))).status_code == 401
        locked = await client.post(LOGIN, json=attempt(ADMIN_EMAIL))
        assert 290 <= assert_rate_limited(locked) <= 300  # one more try per 5 minutes
        right = await client.post(LOGIN, json=attempt(ADMIN_EMAIL.upper(), ADMIN_PASSWORD))
        assert_rate_limited(right)


async def test_a_successful_sign_in_refills_its_account(truncated) -> None:
    async with client_with(rate_limit_sign_in_account="3/15m") as client:
        for _ in range(5):
            for _ in range(2):
                await client.post(LOGIN, json=attempt(ADMIN_EMAIL))
            ok = await client.post(LOGIN, json=attempt(ADMIN_EMAIL, ADMIN_PASSWORD))
            assert ok.status_code == 200, ok.text


async def test_unknown_accounts_are_limited_alike_and_others_are_not(truncated) -> None:
    async with client_with(rate_limit_sign_in_account="2/15m") as client:
        for _ in range(2):
            await client.post(LOGIN, json=attempt("nobody@test.lastmile"))
        assert_rate_limited(await client.post(LOGIN, json=attempt("nobody@test.lastmile")))
        ok = await client.post(LOGIN, json=attempt(ADMIN_EMAIL, ADMIN_PASSWORD))
        assert ok.status_code == 200


async def test_one_address_spraying_many_accounts_is_limited(truncated) -> None:
    async with client_with(rate_limit_sign_in_address="5/15m") as client:
        answers = [
            (await client.post(LOGIN, json=attempt(f"user{n}@test.lastmile"))).status_code
            for n in range(8)
        ]
        assert answers == [401] * 5 + [429] * 3
        assert_rate_limited(await client.post(LOGIN, json=attempt(ADMIN_EMAIL, ADMIN_PASSWORD)))


async def test_concurrent_guesses_get_no_more_than_the_budget(truncated) -> None:
    async with client_with(rate_limit_sign_in_account="5/15m") as client:
        answers = await asyncio.gather(
            *(client.post(LOGIN, json=attempt(ADMIN_EMAIL)) for _ in range(30))
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [401] * 5 + [429] * 25


async def test_off_means_no_limit(truncated) -> None:
    async with client_with() as client:  # the suite's defaults: every rule off
        for _ in range(30):
            assert (await client.post(LOGIN, json=attempt(ADMIN_EMAIL))).status_code == 401
