from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.manifests.models import Route, Stop

DRIVER_VISIBLE_STATUSES = ("published", "in_progress")


class ManifestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def driver_has_shipment(self, driver_id: UUID, shipment_id: UUID) -> bool:
        """Is the shipment on one of this driver's active stops of a published route?"""
        query = select(
            exists()
            .where(Stop.shipment_id == shipment_id, Stop.active)
            .where(Route.id == Stop.route_id)
            .where(Route.driver_id == driver_id, Route.status.in_(DRIVER_VISIBLE_STATUSES))
        )
        return bool(await self.session.scalar(query))
