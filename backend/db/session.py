"""Engine, sessions and the unit of work.

One request, one transaction: `provide_db_session` is a yield dependency, so Litestar runs its
cleanup after the handler has built the response and before a byte is sent. A failed commit
therefore becomes an error response, never a silent 2xx. Workers and scripts use `unit_of_work`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.config import Settings


def make_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "lastmile", "timezone": "UTC"}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Commit when the block ends normally, roll back when it raises."""
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(state.sessionmaker) as session:
        yield session


DbSession = NamedDependency[AsyncSession]
"""Handler parameter type for the request's session: `db_session: DbSession`."""
