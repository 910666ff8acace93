"""Engine, sessions and the unit of work.

One request, one transaction: `provide_db_session` is a yield dependency, so Litestar runs its
cleanup after the handler has built the response and before a byte is sent. A failed commit
therefore becomes an error response, never a silent 2xx. Workers and scripts use `unit_of_work`.

Work that must only follow a successful commit (publishing to the live feeds) is registered with
`after_commit`; the unit of work runs it once the commit returned and drops it on a rollback.

Dead connections: push and pull run SQL straight on the asyncpg connection, where a connection
the server dropped never becomes a SQLAlchemy disconnect error, so SQLAlchemy would keep pooling
it. Two guards instead of a pre-ping (which costs three round trips per checkout): a checkout
refuses a connection asyncpg already knows is closed (and recycles the whole pool: the server
dropping one usually dropped all), and a unit of work that fails on a closed raw connection
invalidates it rather than returning it to the pool.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from backend.config import Settings
from backend.lib.errors import COMMIT_FAILED


def make_engine(
    settings: Settings,
    *,
    url: str | None = None,
    pool_size: int | None = None,
    connect_timeout: float | None = None,
) -> AsyncEngine:
    """The primary's engine; `url` and the rest for a replica's (backend/db/replicas.py)."""
    connect_args: dict[str, Any] = {
        "server_settings": {"application_name": "lastmile", "timezone": "UTC"}
    }
    if connect_timeout is not None:
        connect_args["timeout"] = connect_timeout
    engine = create_async_engine(
        url or settings.async_database_url,
        pool_size=pool_size or settings.db_pool_size,
        # No overflow: a connection opened for a burst is closed when returned, and the next
        # burst pays the connect, the type introspection and every statement's PREPARE again.
        max_overflow=0,
        # No pre-ping: with asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) on every
        # checkout. A connection the server dropped fails its request once, and SQLAlchemy then
        # invalidates the whole pool, so the next requests connect afresh.
        pool_pre_ping=False,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A local check (no round trip): asyncpg marks a connection closed as soon as the event loop
    reads the server's goodbye. Raising here makes the pool reconnect and retry the checkout."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.InvalidatePoolError("pooled connection closed by the server")


log = logging.getLogger("lastmile.db")
AFTER_COMMIT = "after_commit"
RAW_CONNECTION = "raw_connection"


def make_sessionmaker(
    engine: AsyncEngine, info: dict[str, object] | None = None
) -> async_sessionmaker[AsyncSession]:
    """`info` is copied into every session's `Session.info` (process-wide services, e.g. the
    live-feed publisher)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info or {})


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` (quick, non-blocking) after this session's unit of work commits."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def _run_after_commit(session: AsyncSession) -> None:
    for callback in session.info.pop(AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:
            # The change is committed: a failed announcement must not turn it into an error.
            log.exception("after-commit callback failed")


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Commit when the block ends normally, roll back when it raises."""
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            session.info.pop(AFTER_COMMIT, None)
            await _invalidate_if_closed(session)
            await session.rollback()
            raise
        try:
            await session.commit()
        except BaseException as exc:
            # Whether a lost connection lost the COMMIT too is unknown: not safe to replay.
            setattr(exc, COMMIT_FAILED, True)
            session.info.pop(AFTER_COMMIT, None)
            await _invalidate_if_closed(session)
            raise
        _run_after_commit(session)


async def _invalidate_if_closed(session: AsyncSession) -> None:
    """Keep a connection that died under the raw-asyncpg path out of the pool."""
    raw: asyncpg.Connection | None = session.info.get(RAW_CONNECTION)
    if raw is None or not raw.is_closed() or not session.in_transaction():
        return
    try:
        connection = await session.connection()
        await connection.invalidate()
    except exc.SQLAlchemyError:  # the session is past using; the rollback cleans up
        return
    log.warning("database connection lost mid-transaction; it was discarded")


async def raw_connection(session: AsyncSession, **execution_options: Any) -> asyncpg.Connection:
    """The asyncpg connection under this session's transaction, for set-based SQL on hot paths.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, just before its own first statement; SQL sent
    straight to asyncpg before that would run, and commit, on its own. So begin it here.
    `execution_options` (an isolation level, say) apply when this call begins the transaction.
    The connection is kept for the rest of the transaction: a push asks for it a dozen times,
    and each trip through the session costs a greenlet switch and several lookups.
    """
    cached: asyncpg.Connection | None = session.info.get(RAW_CONNECTION)
    if cached is not None:
        return cached
    connection = await session.connection(execution_options=execution_options or None)
    pooled = await connection.get_raw_connection()
    adapter: Any = pooled.dbapi_connection
    session.info[RAW_CONNECTION] = pooled.driver_connection
    if adapter._transaction is None:
        await adapter._start_transaction()
    return pooled.driver_connection


@event.listens_for(Session, "after_transaction_end")
def _forget_raw_connection(session: Session, transaction: SessionTransaction) -> None:
    """The connection goes back to the pool when the outermost transaction ends."""
    if transaction.parent is None:
        session.info.pop(RAW_CONNECTION, None)


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(state.sessionmaker) as session:
        yield session


DbSession = NamedDependency[AsyncSession]
"""Handler parameter type for the request's session: `db_session: DbSession`."""
