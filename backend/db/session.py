"""Engine, sessions and the unit of work.

One request, one transaction: `provide_db_session` is a yield dependency, so Litestar runs its
cleanup after the handler has built the response and before a byte is sent. A failed commit
therefore becomes an error response, never a silent 2xx. Workers and scripts use `unit_of_work`.

Work that must only follow a successful commit (publishing to the live feeds) is registered with
`after_commit`; the unit of work runs it once the commit returned and drops it on a rollback.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from backend.config import Settings


def make_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        # No overflow: a connection opened for a burst is closed when returned, and the next
        # burst pays the connect, the type introspection and every statement's PREPARE again.
        max_overflow=0,
        # No pre-ping: with asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) on every
        # checkout. A connection the server dropped fails its request once, and SQLAlchemy then
        # invalidates the whole pool, so the next requests connect afresh.
        pool_pre_ping=False,
        connect_args={"server_settings": {"application_name": "lastmile", "timezone": "UTC"}},
    )


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
            await session.rollback()
            raise
        try:
            await session.commit()
        except BaseException:
            session.info.pop(AFTER_COMMIT, None)
            raise
        _run_after_commit(session)


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
    if adapter._transaction is None:
        await adapter._start_transaction()
    session.info[RAW_CONNECTION] = pooled.driver_connection
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
