"""A courier's life after approval: suspension, reactivation, offboarding, and the jobs that
suspend couriers whose documents expire and delete closed applications' documents."""

from datetime import date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.couriers.models import CourierApplication
from backend.couriers.repository import CourierRepository
from backend.couriers.rules import CourierRules
from backend.couriers.transitions import SYSTEM, Actor, move
from backend.couriers.views import missing_documents
from backend.drivers.service import DriverService
from backend.lib.clock import utcnow
from backend.lib.errors import Invalid
from backend.pod.storage import BlobStore

PURGE_BATCH = 100


async def set_driver_active(
    session: AsyncSession, application: CourierApplication, active: bool
) -> None:
    """Only active couriers sign in and receive work: the driver record follows the status."""
    if application.driver_id is not None:
        await DriverService(session).set_active(application.driver_id, active)


class CourierLifecycle:
    def __init__(self, session: AsyncSession, rules: CourierRules) -> None:
        self.session = session
        self.rules = rules
        self.repo = CourierRepository(session)

    async def suspend(self, application: CourierApplication, principal: Principal, reason: str):
        await move(self.session, application, "suspended", Actor.of(principal), reason)
        application.suspended_for = "staff"
        await set_driver_active(self.session, application, False)

    async def reactivate(
        self, application: CourierApplication, principal: Principal, reason: str | None = None
    ) -> None:
        """Staff lift a suspension, but not over a document that is still missing or expired."""
        problems = missing_documents(
            application,
            await self.repo.documents(application.id),
            self.rules.requirements,
            utcnow().date(),
        )
        if application.status == "suspended" and problems:
            first = problems[0]
            raise Invalid(f"{first['field']} is {first['message']}", field=first["field"])
        await move(self.session, application, "active", Actor.of(principal), reason)
        application.suspended_for = None
        await set_driver_active(self.session, application, True)

    async def offboard(self, application: CourierApplication, principal: Principal, reason: str):
        await move(self.session, application, "offboarded", Actor.of(principal), reason)
        application.suspended_for = None
        await set_driver_active(self.session, application, False)

    # jobs --------------------------------------------------------------------------------------

    async def suspend_expired(self, today: date) -> list[UUID]:
        """Suspend every active courier whose required document expired, saying which."""
        expired: dict[UUID, tuple[CourierApplication, list[str]]] = {}
        for application, kind, expires_on in await self.repo.expired_couriers(today):
            if kind in self.rules.requirements[application.vehicle_kind]:
                entry = expired.setdefault(application.id, (application, []))
                entry[1].append(f"{kind} expired on {expires_on}")
        for application, reasons in expired.values():
            await move(self.session, application, "suspended", SYSTEM, "; ".join(reasons))
            application.suspended_for = "document_expired"
            await set_driver_active(self.session, application, False)
        return list(expired)

    async def purge_documents(self, cutoff: datetime, store: BlobStore) -> int:
        """Delete the documents (rows and files) of applications rejected or offboarded before
        `cutoff`; the transitions, the decision record, stay. Returns how many applications."""
        applications = await self.repo.purgeable(cutoff, PURGE_BATCH)
        if not applications:
            return 0
        hashes = await self.repo.delete_documents([a.id for a in applications])
        gone = await self.repo.unreferenced_blobs(hashes)
        await self.repo.delete_blob_rows(gone)
        for sha256 in gone:
            # Files go before the commit: a failure here rolls the rows back, and the next
            # run tries again (deleting a missing file is no error).
            await store.delete(sha256)
        for application in applications:
            application.documents_purged_at = utcnow()
        await self.repo.flush()
        return len(applications)
