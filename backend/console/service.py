"""The console's board: routes of a day with progress and stops coloured by status."""

import datetime as dt
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.repository import ConsoleRepository
from backend.console.schemas import DONE_STATUSES, BoardRoute, BoardStop
from backend.lib.geo import Point
from backend.lib.pagination import Page, decode_cursor, page_of

# Drafts are planning's business; the board shows what drivers have or had.
BOARD_STATUSES = ("published", "in_progress", "completed")


class _StopRow(msgspec.Struct):
    id: UUID
    shipment_id: UUID
    sequence: int
    tracking_number: str
    status: str
    lon: float
    lat: float
    eta: dt.datetime | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None


class ConsoleService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = ConsoleRepository(session)

    async def board(
        self, day: dt.date, hub_id: UUID | None, cursor: str | None, limit: int
    ) -> Page[BoardRoute]:
        rows = await self.repo.routes_of_day(
            day, hub_id, decode_cursor(cursor), BOARD_STATUSES, limit + 1
        )
        return page_of([_route(row) for row in rows], limit, lambda route: route.id)


def _route(row: asyncpg.Record) -> BoardRoute:
    stops = [_stop(s) for s in _decode(row["stops"])]
    return BoardRoute(
        id=row["id"],
        driver_id=row["driver_id"],
        driver_name=row["driver_name"],
        hub_id=row["hub_id"],
        date=row["date"],
        status=row["status"],
        total=len(stops),
        done=sum(s.status in DONE_STATUSES for s in stops),
        delivered=sum(s.status == "delivered" for s in stops),
        stops=stops,
    )


def _decode(value: Any) -> list[_StopRow]:
    raw = value if isinstance(value, str | bytes) else msgspec.json.encode(value)
    return msgspec.json.decode(raw, type=list[_StopRow])


def _stop(row: _StopRow) -> BoardStop:
    return BoardStop(
        id=row.id,
        shipment_id=row.shipment_id,
        sequence=row.sequence,
        tracking_number=row.tracking_number,
        status=row.status,
        location=Point.at(row.lon, row.lat),
        eta=row.eta,
        window_start=row.window_start,
        window_end=row.window_end,
    )
