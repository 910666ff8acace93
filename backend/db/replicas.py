"""Streaming-replica reads for read-only, staleness-tolerant endpoints (docs/scaling.md).

`LASTMILE_DATABASE_REPLICA_URLS` names PostgreSQL hot standbys of the primary. Endpoints opt in
with `ReadDbSession`; everything else (sync pull above all) keeps the primary's `DbSession`.

Lag is measured without writing anything: every check samples the primary's
`pg_current_wal_lsn()` with this process's clock, then each replica's `pg_last_wal_replay_lsn()`.
A replica has everything the primary had written at the newest sample its replay position
reached, so its lag is the age of that sample. An idle primary keeps its newest sample's time
fresh (same position, later time), so idleness never reads as lag, which it would with
`now() - pg_last_xact_replay_timestamp()` alone. That age serves only for a replica behind every
sample kept (just after start-up): there it bounds the lag from above. The resolution is the
check interval.

A replica is read while it streams within `LASTMILE_REPLICA_MAX_LAG_SECONDS` and its last check
is recent; otherwise, and when opening a transaction on it fails, the read goes to the primary.
Each change of a replica's state is logged once and shown by `/readyz`.

Reading one's own writes: a caller who has just written (a recipient's instruction) carries a
short-lived cookie, and the written-to tracking token is remembered by this process, for
`read_your_writes_seconds`; within that window its reads go to the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db.session import make_engine, make_sessionmaker, raw_connection

log = logging.getLogger("lastmile.db.replicas")
FRESH_COOKIE = "lastmile_fresh"
READ_FROM = "read_from"  # Session.info key: the replica's name; absent on the primary
CONNECT_TIMEOUT_SECONDS = 2.0
LSN = "(pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"
REPLAY = (
    "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint,"
    " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
)
# What failing to open a transaction on a replica looks like: refused, reset, timed out.
UNREACHABLE = (OSError, TimeoutError, exc.SQLAlchemyError, asyncpg.PostgresError,
               asyncpg.InterfaceError)  # fmt: skip


@dataclass
class Replica:
    name: str  # host:port/database, never the password
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    state: str = "unknown"  # streaming | lagging | down | not_a_replica | unknown
    lag_seconds: float | None = None
    checked_at: float = -math.inf  # monotonic
    reads: int = 0

    def health(self, position: int) -> dict[str, object]:
        """By its position in the setting: `/readyz` is public, host names stay in the logs."""
        lag = None if self.lag_seconds is None else round(self.lag_seconds, 3)
        return {"replica": position, "state": self.state, "lag_seconds": lag, "reads": self.reads}


@dataclass
class PrimaryPositions:
    """(monotonic time, WAL position) samples of the primary, positions strictly increasing."""

    keep_seconds: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, at: float, lsn: int) -> None:
        if self.samples and self.samples[-1][1] >= lsn:
            self.samples[-1] = (at, self.samples[-1][1])  # unchanged: still true at `at`
        else:
            self.samples.append((at, lsn))
        while len(self.samples) > 1 and at - self.samples[0][0] > self.keep_seconds:
            self.samples.popleft()

    def lag(self, replayed: int, now: float, replay_age: float | None) -> float | None:
        """Age of the newest sample the replica has replayed. Behind every sample kept (a
        process just started, or a long lag), the age of its last replayed commit instead: the
        replica is behind, so that commit is not followed by one it holds, and the age bounds
        its lag from above (on the servers' clocks)."""
        reached = [at for at, lsn in self.samples if lsn <= replayed]
        if reached:
            return max(0.0, now - reached[-1])
        if replay_age is None or not self.samples:
            return None
        return max(replay_age, now - self.samples[0][0])


class ReplicaRouter:
    """Chooses where a read goes and keeps each replica's state, checked in the background."""

    def __init__(
        self,
        settings: Settings,
        primary_engine: AsyncEngine,
        primary: async_sessionmaker[AsyncSession],
        info: dict[str, object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary_engine = primary_engine
        self.primary = primary
        self.max_lag = settings.replica_max_lag_seconds
        self.check_seconds = settings.replica_check_seconds
        self.read_your_writes_seconds = max(
            settings.replica_sticky_seconds, math.ceil(self.max_lag + 2 * self.check_seconds)
        )
        self.clock = clock
        self.positions = PrimaryPositions(self.max_lag + 2 * self.check_seconds)
        self.replicas = [_replica(url, settings, info) for url in settings.async_replica_urls]
        self.primary_reads = 0
        self._turn = itertools.count()
        self._fresh_keys: dict[str, float] = {}

    # routing --------------------------------------------------------------------------------

    def usable(self) -> list[Replica]:
        now = self.clock()
        recent = self.max_lag + 2 * self.check_seconds
        return [
            r
            for r in self.replicas
            if r.state == "streaming"
            and r.lag_seconds is not None
            and r.lag_seconds <= self.max_lag
            and now - r.checked_at <= recent
        ]

    @contextlib.asynccontextmanager
    async def read_session(self, *, fresh: bool = False) -> AsyncIterator[AsyncSession]:
        """A read-only transaction on a usable replica (round robin), else on the primary.
        It is rolled back at the end: nothing in it may write."""
        session = None
        candidates = [] if fresh or not self.replicas else self.usable()
        if candidates:
            replica = candidates[next(self._turn) % len(candidates)]
            try:
                session = await _begin_read_only(replica.sessionmaker)
                session.info[READ_FROM] = replica.name
                replica.reads += 1
            except UNREACHABLE as error:
                await self._mark_down(replica, error)
        if session is None:
            session = await _begin_read_only(self.primary)
            self.primary_reads += 1
        async with session:
            try:
                yield session
            finally:
                await session.rollback()

    def remember_write(self, key: str) -> Cookie:
        """After a write by a caller: its reads by `key` (this process) or with the returned
        cookie (any process) go to the primary for `read_your_writes_seconds`."""
        now = self.clock()
        self._fresh_keys = {k: t for k, t in self._fresh_keys.items() if t > now}
        self._fresh_keys[key] = now + self.read_your_writes_seconds
        return Cookie(
            key=FRESH_COOKIE,
            value="1",
            max_age=self.read_your_writes_seconds,
            path="/",
            httponly=True,
            samesite="lax",
        )

    def wants_fresh(self, key: str | None, cookies: dict[str, str]) -> bool:
        if FRESH_COOKIE in cookies:
            return True
        until = self._fresh_keys.get(key) if key else None
        return until is not None and until > self.clock()

    # checks ---------------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event) -> None:
        while self.replicas and not stop.is_set():
            try:
                await self.check()
            except Exception:  # a bug here must not stop the checks: states then go stale
                log.exception("replica check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.check_seconds)

    async def check(self) -> None:
        """Sample the primary's position, then each replica's replay position."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                async with self.primary_engine.connect() as connection:
                    lsn = await connection.scalar(text(f"SELECT {LSN}"))
        except UNREACHABLE as error:
            # No reference point: states stand, and go stale (unusable) if this lasts.
            log.warning("replica check: primary position unknown: %s", type(error).__name__)
            return
        self.positions.add(self.clock(), int(lsn))
        await asyncio.gather(*(self._check(replica) for replica in self.replicas))

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                async with replica.engine.connect() as connection:
                    row = (await connection.execute(text(REPLAY))).one()
        except UNREACHABLE as error:
            await self._mark_down(replica, error)
            return
        in_recovery, replayed, replay_age = row
        now = self.clock()
        if not in_recovery:
            self._set(replica, "not_a_replica", None, now)
            return
        lag = None if replayed is None else self.positions.lag(int(replayed), now, replay_age)
        fresh = lag is not None and lag <= self.max_lag
        self._set(replica, "streaming" if fresh else "lagging", lag, now)

    async def _mark_down(self, replica: Replica, error: BaseException) -> None:
        self._set(replica, "down", None, self.clock(), reason=type(error).__name__)
        # Drop its pooled connections: they all went with the server.
        with contextlib.suppress(Exception):
            await replica.engine.dispose()

    def _set(
        self, replica: Replica, state: str, lag: float | None, now: float, reason: str = ""
    ) -> None:
        if state != replica.state:
            level = logging.INFO if state == "streaming" else logging.WARNING
            detail = f" ({reason})" if reason else ""
            where = "replica" if state == "streaming" else "primary"
            log.log(level, "replica %s: %s%s; reads go to the %s", replica.name, state, detail,
                    where)  # fmt: skip
        replica.state, replica.lag_seconds, replica.checked_at = state, lag, now

    def health(self) -> dict[str, object]:
        return {
            "max_lag_seconds": self.max_lag,
            "primary_reads": self.primary_reads,
            "replicas": [r.health(n) for n, r in enumerate(self.replicas, start=1)],
        }

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()


def read_from_replica(session: AsyncSession) -> bool:
    return READ_FROM in session.info


def _replica(url: str, settings: Settings, info: dict[str, object] | None) -> Replica:
    engine = make_engine(
        settings,
        url=url,
        pool_size=settings.replica_pool_size,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    parts = urlsplit(url)
    name = f"{parts.hostname or ''}:{parts.port or 5432}{parts.path}"
    return Replica(name, engine, make_sessionmaker(engine, info=info))


async def _begin_read_only(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session whose transaction is open (`BEGIN READ ONLY`), so an unreachable server fails
    here rather than in the handler."""
    session = sessionmaker()
    try:
        await raw_connection(session, postgresql_readonly=True)
    except BaseException:
        await session.close()
        raise
    return session


async def provide_read_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    router: ReplicaRouter = state.replicas
    fresh = router.wants_fresh(request.path_params.get("token"), request.cookies)
    async with router.read_session(fresh=fresh) as session:
        yield session


ReadDbSession = NamedDependency[AsyncSession]
"""Handler parameter type for a read-only session that a replica may serve:
`read_db_session: ReadDbSession`. Only for reads that tolerate `LASTMILE_REPLICA_MAX_LAG_SECONDS`
of staleness and follow no write by the same caller."""
