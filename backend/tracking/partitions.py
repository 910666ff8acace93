"""Day partitions of `positions`: made ahead of time, adopted from the default, dropped after
retention.

A day's partition is `positions_pYYYYMMDD` holding `[day 00:00 UTC, next day 00:00 UTC)`. The
default partition catches pings of days without one (a fresh install, a maintenance run missed),
so an insert never fails; the next run moves those rows into their day's partition. Dropping a
whole partition is how old history goes: no DELETE, no bloat, no vacuum debt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

PARENT = "positions"
DEFAULT = "positions_default"
DAYS_AHEAD = 2
_NAME = re.compile(r"^positions_p(\d{8})$")


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def day_of(name: str) -> date | None:
    match = _NAME.match(name)
    return datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def _bound(day: date) -> str:
    """A literal partition bound (made from a date only: nothing user-given reaches DDL)."""
    return f"'{day.isoformat()} 00:00:00+00'"


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """The oldest kept instant: the start (UTC) of the oldest kept day."""
    day = now.astimezone(UTC).date() - timedelta(days=retention_days)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(slots=True)
class PartitionReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    adopted_rows: int = 0
    expired_default_rows: int = 0


class PartitionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def partitions(self) -> list[str]:
        rows = await (await self.raw()).fetch(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = $1 ORDER BY c.relname
            """,
            PARENT,
        )
        return [row["relname"] for row in rows]

    async def default_days(self, since: datetime) -> list[date]:
        rows = await (await self.raw()).fetch(
            f"SELECT DISTINCT (at AT TIME ZONE 'UTC')::date AS day FROM {DEFAULT} WHERE at >= $1",
            since,
        )
        return [row["day"] for row in rows]

    async def create(self, day: date, *, adopt: bool) -> int:
        """Create the day's partition; with `adopt`, move the default's rows of that day in
        (the default has to be detached meanwhile, or creating the partition would fail)."""
        connection = await self.raw()
        name, start, end = partition_name(day), _bound(day), _bound(day + timedelta(days=1))
        if not adopt:
            await connection.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT}"
                f" FOR VALUES FROM ({start}) TO ({end})"
            )
            return 0
        await connection.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}")
        await connection.execute(
            f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ({start}) TO ({end})"
        )
        moved = await connection.fetchval(
            f"""
            WITH gone AS (
                DELETE FROM {DEFAULT} WHERE at >= {start} AND at < {end} RETURNING *
            ), put AS (INSERT INTO {name} SELECT * FROM gone RETURNING 1)
            SELECT count(*) FROM put
            """
        )
        await connection.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT")
        return moved

    async def drop(self, name: str) -> None:
        assert _NAME.match(name), name
        await (await self.raw()).execute(f"DROP TABLE IF EXISTS {name}")

    async def expire_default(self, before: datetime) -> int:
        result = await (await self.raw()).execute(f"DELETE FROM {DEFAULT} WHERE at < $1", before)
        return int(result.split()[-1])


async def maintain(session: AsyncSession, now: datetime, retention_days: int) -> PartitionReport:
    """Create partitions for yesterday to `DAYS_AHEAD` days on (and for any kept day that has
    rows in the default), then drop the days past retention."""
    repo = PartitionRepository(session)
    report = PartitionReport()
    today = now.astimezone(UTC).date()
    cutoff = retention_cutoff(now, retention_days)
    cutoff_day = cutoff.date()
    existing = set(await repo.partitions())
    stranded = set(await repo.default_days(cutoff))
    wanted = {today + timedelta(days=n) for n in range(-1, DAYS_AHEAD + 1)} | stranded
    for day in sorted(d for d in wanted if d >= cutoff_day):
        if partition_name(day) in existing:
            continue
        report.adopted_rows += await repo.create(day, adopt=day in stranded)
        report.created.append(partition_name(day))
    for name in sorted(existing):
        day = day_of(name)
        if day is not None and day < cutoff_day:
            await repo.drop(name)
            report.dropped.append(name)
    report.expired_default_rows = await repo.expire_default(cutoff)
    return report
