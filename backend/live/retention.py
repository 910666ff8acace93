"""Retention of `shipment_feed`, the per-shipment replay log behind SSE `Last-Event-ID`.

Run by the periodic jobs (backend/system/jobs.py). Kept apart from `LiveRepository` because it
is the feed's only bulk delete and never runs on a request path.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

# A shipment's newest entry always stays: the next `seq` is `max(seq) + 1`, so deleting it would
# restart the numbering and a client resuming with an old Last-Event-ID would miss entries.
_PRUNE = """
DELETE FROM shipment_feed f
WHERE f.created_at < $1
  AND f.seq < (SELECT max(g.seq) FROM shipment_feed g WHERE g.shipment_id = f.shipment_id)
"""


class ShipmentFeedRetention:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def prune(self, older_than: datetime) -> int:
        """Delete entries created before `older_than`, except each shipment's newest one;
        returns how many were deleted."""
        status = await (await raw_connection(self.session)).execute(_PRUNE, older_than)
        return int(status.rpartition(" ")[2])
