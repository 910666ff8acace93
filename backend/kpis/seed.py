"""`lastmile seed-history`: a large synthetic delivery history (shipments, parcels, stops,
events, incidents) and its KPI facts, generated set-based inside PostgreSQL chunk by chunk, with
a progress bar. For benchmarks and demos of the KPIs (docs/kpis.md)."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.session import unit_of_work
from backend.kpis.repository import KpiRepository
from backend.kpis.seed_sql import EVENTS, HUB_PLACES, NETWORK, PLAN, SHIPMENTS, render


@dataclass(frozen=True)
class HistorySize:
    shipments: int = 1_000_000
    days: int = 90
    hubs: int = 4
    drivers: int = 200
    chunk: int = 20_000

    def check(self) -> None:
        if not (1 <= self.shipments <= 20_000_000 and 1 <= self.days <= 3650):
            raise ValueError("shipments must be 1..20,000,000 and days 1..3650")
        if not (1 <= self.hubs <= self.drivers <= 100_000 and 100 <= self.chunk <= 200_000):
            raise ValueError("need 1 <= hubs <= drivers <= 100,000 and chunk 100..200,000")


@dataclass(frozen=True)
class SeededHistory:
    tag: str
    first_day: str
    last_day: str
    shipments: int
    events: int
    seconds: float


ProgressFn = Callable[[int, int, float], None]


def progress_bar(done: int, total: int, started: float) -> None:
    """One line on stderr, redrawn: `[#####-----]  50%  500,000/1,000,000  12,345/s`."""
    width, elapsed = 30, max(time.monotonic() - started, 1e-9)
    filled = width * done // total
    bar = "#" * filled + "-" * (width - filled)
    end = "\n" if done >= total else ""
    print(
        f"\r[{bar}] {100 * done // total:3d}%  {done:,}/{total:,} shipments"
        f"  {done / elapsed:,.0f}/s  {elapsed:,.0f} s",
        end=end,
        file=sys.stderr,
        flush=True,
    )


async def seed_history(
    sessions: async_sessionmaker[AsyncSession],
    size: HistorySize,
    *,
    today: datetime | None = None,
    progress: ProgressFn = progress_bar,
) -> SeededHistory:
    """Hubs, drivers and routes first, then `size.shipments` over the last `size.days` days,
    each chunk in its own transaction with its KPI facts (the trigger's marks for it removed),
    then the daily rollup of the new hubs in one statement."""
    size.check()
    tag = secrets.token_hex(4)
    first_day = (today or datetime.now(UTC)).date() - timedelta(days=size.days)
    values: dict[str, object] = {
        "tag": tag,
        "first_day": first_day,
        "hubs": size.hubs,
        "drivers": size.drivers,
        "days": size.days,
        "places": len(HUB_PLACES),
        "zones": tuple(p[0] for p in HUB_PLACES),
        "lons": tuple(p[1] for p in HUB_PLACES),
        "lats": tuple(p[2] for p in HUB_PLACES),
    }
    started = time.monotonic()
    async with unit_of_work(sessions) as session:
        for statement in render(NETWORK, values):
            await session.execute(text(statement))
    events = 0
    for start in range(0, size.shipments, size.chunk):
        stop = min(start + size.chunk, size.shipments)
        async with unit_of_work(sessions) as session:
            events += await _chunk(session, values | {"start": start, "stop": stop})
        progress(stop, size.shipments, started)
    async with unit_of_work(sessions) as session:
        hub_ids = await session.scalars(
            text("SELECT id FROM hubs WHERE code LIKE :like"), {"like": f"HIST-{tag}-%"}
        )
        await KpiRepository(session).rebuild_daily(list(hub_ids))
    last_day = first_day + timedelta(days=size.days - 1)
    return SeededHistory(
        tag,
        first_day.isoformat(),
        last_day.isoformat(),
        size.shipments,
        events,
        time.monotonic() - started,
    )


async def _chunk(session: AsyncSession, values: dict[str, object]) -> int:
    mark = await session.scalar(text("SELECT coalesce(max(id), 0) FROM kpi_dirty_shipments"))
    for statement in render(PLAN + ";\n" + SHIPMENTS, values):
        await session.execute(text(statement))
    events = 0
    for statement in render(EVENTS, values):
        result = await session.execute(text(statement))
        if statement.startswith("INSERT INTO shipment_events"):
            events = result.rowcount  # type: ignore[attr-defined]
    ids = list(await session.scalars(text("SELECT id FROM history_plan")))
    await KpiRepository(session).rebuild_facts(ids, daily=False)  # rolled up once at the end
    await session.execute(
        text(
            "DELETE FROM kpi_dirty_shipments WHERE id > :mark"
            " AND shipment_id IN (SELECT id FROM history_plan)"
        ),
        {"mark": mark},
    )
    return events
