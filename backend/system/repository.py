from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection


class JobLockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_lock(self, key: int) -> bool:
        """A transaction-scoped advisory lock: one process runs a periodic job at a time."""
        connection = await raw_connection(self.session)
        return bool(await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", key))
