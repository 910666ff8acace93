"""The subject check: a token's user still exists and is active, its session is not revoked,
and its device is still bound to its driver. Checked on every authenticated request, so cached
per process for `auth_subject_cache_seconds`.

Revocation is immediate on the process that revokes: the service registers `forget` to run
right after its commit, which bumps the user's generation and so voids every cached verdict of
that user (a lookup that started before the bump does not store its answer). Other processes
see it when their entry expires, within the TTL.
"""

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal
from uuid import UUID

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.repository import SessionRepository
from backend.auth.schemas import Principal
from backend.db.session import after_commit

Verdict = Literal[
    "ok",
    "unknown_subject",
    "account_inactive",
    "token_revoked",
    "device_released",
    "device_bound_to_other_driver",
]
SUBJECTS_KEY = "subject_cache"
MAX_ENTRIES = 100_000


class SubjectCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[Principal, tuple[float, int, Verdict]] = {}
        self._generations: dict[UUID, int] = {}

    async def verdict(
        self, principal: Principal, load: Callable[[], Awaitable[Verdict]]
    ) -> Verdict:
        now = self.clock()
        generation = self._generations.get(principal.user_id, 0)
        hit = self._entries.get(principal)
        if hit is not None and hit[0] > now and hit[1] == generation:
            return hit[2]
        verdict = await load()
        if self.ttl > 0 and self._generations.get(principal.user_id, 0) == generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[principal] = (now + self.ttl, generation, verdict)
        return verdict

    def forget(self, user_ids: Iterable[UUID]) -> None:
        for user_id in user_ids:
            self._generations[user_id] = self._generations.get(user_id, 0) + 1


def forget_after_commit(session: AsyncSession, user_ids: Iterable[UUID]) -> None:
    """Void this process's cached verdicts of these users once the session commits."""
    cache: SubjectCache | None = session.info.get(SUBJECTS_KEY)
    users = set(user_ids)
    if cache is not None and users:
        after_commit(session, lambda: cache.forget(users))


async def load_verdict(session: AsyncSession, principal: Principal) -> Verdict:
    assert principal.session_id is not None  # tokens without one do not verify
    row = await SessionRepository(session).subject(
        principal.user_id, principal.session_id, principal.device_id
    )
    return judge(row, principal)


def judge(row: Row | None, principal: Principal) -> Verdict:
    if row is None:
        return "unknown_subject"
    if not row.active:
        return "account_inactive"
    if not row.session_live:
        return "token_revoked"
    if principal.device_id is not None:
        if row.device_driver_id is None:
            return "device_released"
        if row.device_driver_id != principal.driver_id:
            return "device_bound_to_other_driver"
    return "ok"
