"""What the page needs beyond the recipient's view: the hub's time zone (times are shown in it)
and the delivery point (the map's centre)."""

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

_PLACE = """
SELECT h.time_zone, ST_X(s.location::geometry) AS lon, ST_Y(s.location::geometry) AS lat
FROM shipments s JOIN hubs h ON h.id = s.hub_id
WHERE s.tracking_token = $1
"""


class PageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def place(self, token: str) -> asyncpg.Record | None:
        return await (await raw_connection(self.session)).fetchrow(_PLACE, token)
