from datetime import datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def claim(
        self,
        caller: str,
        key: str,
        request_hash: bytes,
        now: datetime,
        lease: timedelta,
        keep: timedelta,
    ) -> asyncpg.Record | None:
        """Insert the key as running (or take over one past `keep`); None when it was ours to
        insert, else the stored row, locked until this transaction ends."""
        inserted = await (await self.raw()).fetchval(
            """
            INSERT INTO idempotency_keys (caller, key, request_hash, locked_until, created_at)
            VALUES ($1, $2, $3, $4::timestamptz + $5::interval, $4::timestamptz)
            ON CONFLICT (caller, key) DO UPDATE
                SET request_hash = EXCLUDED.request_hash, locked_until = EXCLUDED.locked_until,
                    created_at = EXCLUDED.created_at, status_code = NULL,
                    content_type = NULL, response_body = NULL
                WHERE idempotency_keys.created_at < $4::timestamptz - $6::interval
            RETURNING true
            """,
            caller,
            key,
            request_hash,
            now,
            lease,
            keep,
        )
        if inserted:
            return None
        return await (await self.raw()).fetchrow(
            "SELECT request_hash, locked_until, status_code, content_type, response_body"
            " FROM idempotency_keys WHERE caller = $1 AND key = $2 FOR UPDATE",
            caller,
            key,
        )

    async def take_over(self, caller: str, key: str, locked_until: datetime) -> None:
        await (await self.raw()).execute(
            "UPDATE idempotency_keys SET locked_until = $3 WHERE caller = $1 AND key = $2",
            caller,
            key,
            locked_until,
        )

    async def complete(
        self, caller: str, key: str, status: int, content_type: str | None, body: bytes
    ) -> None:
        await (await self.raw()).execute(
            "UPDATE idempotency_keys SET status_code = $3, content_type = $4, response_body = $5"
            " WHERE caller = $1 AND key = $2",
            caller,
            key,
            status,
            content_type,
            body,
        )

    async def release(self, caller: str, key: str) -> None:
        await (await self.raw()).execute(
            "DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2", caller, key
        )

    async def purge(self, before: datetime) -> int:
        result = await (await self.raw()).execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1", before
        )
        return int(result.split()[-1])
