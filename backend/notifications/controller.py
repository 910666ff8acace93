from uuid import UUID

from litestar import Controller, get
from litestar.params import FromQuery

from backend.auth.guards import staff_only
from backend.db.session import DbSession
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.notifications.schemas import NotificationRead
from backend.notifications.service import NotificationService


class NotificationController(Controller):
    path = "/v1/notifications"
    tags = ["notifications"]

    @get(guards=[staff_only])
    async def list_notifications(
        self,
        db_session: DbSession,
        shipment_id: FromQuery[UUID | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[NotificationRead]:
        """Messages sent (or found undeliverable) to recipients, oldest first."""
        return await NotificationService(db_session).page(
            shipment_id=shipment_id, cursor=cursor, limit=limit
        )
