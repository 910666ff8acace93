"""Sign-in throttling: per client address and per account, with lockout semantics.

Every attempt spends from both budgets before the password is even hashed (so a flood costs
no argon2 time). A successful sign-in refills its account's budget, so a user who gets in is
never locked out by their own earlier typos; failures accumulate until the budget is spent,
then every attempt for that account, right password or not, answers 429 until Retry-After.
The account key is the e-mail as typed, case-folded, whether or not such an account exists
(the answers do not tell which).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from backend.limits.limiter import RateLimiter


@contextlib.asynccontextmanager
async def sign_in_attempt(limiter: RateLimiter, address: str, email: str) -> AsyncIterator[None]:
    account = email.strip().casefold()
    await limiter.enforce("sign_in_address", address)
    await limiter.enforce("sign_in_account", account)
    yield  # raises on a wrong password: the hit stays counted
    await limiter.reset("sign_in_account", account)
