"""The reviewers' side (admin, dispatcher): the queue, reviews, documents, checks, decisions."""

import secrets
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.couriers.checks import checks_for
from backend.couriers.lifecycle import CourierLifecycle
from backend.couriers.models import CourierApplication, CourierCheck, CourierProfile
from backend.couriers.repository import CourierRepository
from backend.couriers.rules import CourierRules
from backend.couriers.schemas import (
    ApplicationRead,
    ApplicationSummary,
    ApproveBody,
    CheckResult,
    DocumentRead,
)
from backend.couriers.service import ApplicationService
from backend.couriers.transitions import Actor, move
from backend.couriers.views import document_read, summary
from backend.drivers.schemas import DriverCreate, VehicleIn
from backend.drivers.service import DriverService
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.ids import uuid7
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.outbox.service import OutboxService

CHECK_TOPIC = "courier.check_requested"


class ReviewService:
    def __init__(self, session: AsyncSession, rules: CourierRules) -> None:
        self.session = session
        self.rules = rules
        self.repo = CourierRepository(session)
        self.applications = ApplicationService(session, rules)

    async def page(
        self, *, status: str | None, city: str | None, cursor: str | None, limit: int
    ) -> Page[ApplicationSummary]:
        rows = await self.repo.page(
            after=decode_cursor(cursor), limit=limit + 1, status=status, city=city
        )
        return page_of([summary(a) for a in rows], limit, lambda a: a.id)

    async def _locked(self, application_id: UUID, principal: Principal) -> CourierApplication:
        return await self.applications.visible(application_id, principal, for_update=True)

    async def start_review(self, application_id: UUID, principal: Principal) -> ApplicationRead:
        application = await self._locked(application_id, principal)
        await move(self.session, application, "under_review", Actor.of(principal))
        return await self.applications.read(application)

    async def reject(
        self, application_id: UUID, principal: Principal, reason: str
    ) -> ApplicationRead:
        application = await self._locked(application_id, principal)
        await move(self.session, application, "rejected", Actor.of(principal), reason)
        return await self.applications.read(application)

    # documents ---------------------------------------------------------------------------------

    async def review_document(
        self,
        application_id: UUID,
        document_id: UUID,
        principal: Principal,
        verdict: str,
        reason: str | None,
    ) -> DocumentRead:
        """`verified` or `rejected` (the applicant then uploads that one document again)."""
        application = await self._locked(application_id, principal)
        document = await self.repo.document(application.id, document_id)
        if document is None:
            raise NotFound("No such document")
        if document.status == "superseded":
            raise Conflict("A newer document of this kind replaced this one", code="superseded")
        document.status, document.review_reason = verdict, reason
        document.reviewed_by, document.reviewed_at = principal.user_id, utcnow()
        await self.repo.flush()
        return document_read(document)

    # checks ------------------------------------------------------------------------------------

    async def start_check(self, application_id: UUID, principal: Principal) -> ApplicationRead:
        """under_review -> checks_pending, and the provider is asked once this commits."""
        application = await self._locked(application_id, principal)
        await move(self.session, application, "checks_pending", Actor.of(principal))
        checks = checks_for(self.session)
        check = CourierCheck(
            id=uuid7(),
            application_id=application.id,
            provider=checks.provider.name if checks else "local",
            status="requested",
            requested_by=principal.user_id,
        )
        self.repo.add(check)
        await self.repo.flush()
        await OutboxService(self.session).announce(CHECK_TOPIC, [{"check_id": str(check.id)}])
        return await self.applications.read(application)

    async def record_result(self, check_id: UUID, result: CheckResult, message_id: str) -> str:
        """A verified callback: `recorded`, or `duplicate` for a replay (same message, or a
        check already decided, which keeps its first result)."""
        if result.check_id != check_id:
            raise Invalid("check_id differs from the path", field="check_id")
        check = await self.repo.check(check_id, for_update=True)
        if check is None:
            raise NotFound("No such check")
        if check.status != "requested":
            return "duplicate"
        check.status, check.result_message_id = result.status, message_id
        check.result = {"status": result.status, "reference": result.reference}
        check.completed_at = utcnow()
        await self.repo.flush()
        return "recorded"

    # decision ----------------------------------------------------------------------------------

    async def approve(
        self, application_id: UUID, principal: Principal, body: ApproveBody
    ) -> ApplicationRead:
        """checks_pending -> approved -> active: the courier becomes a driver (employment
        `courier`) with the vehicle, zones and availability they applied with."""
        application = await self._locked(application_id, principal)
        if application.status == "checks_pending":
            await self._require_clear_check(application)
        await move(self.session, application, "approved", Actor.of(principal), body.reason)
        hub_id = body.home_hub_id or await self._hub_of_zones(application)
        driver = await DriverService(self.session).create(
            DriverCreate(
                name=application.name,
                email=application.email,
                # Never used: the applicant's own password hash is stored instead.
                password=secrets.token_urlsafe(24),
                home_hub_id=hub_id,
                phone=application.phone,
                employment="courier",
                vehicle=VehicleIn(
                    kind=application.vehicle_kind,
                    capacity_parcels=application.capacity_parcels,
                    capacity_kg=application.capacity_kg,
                ),
            ),
            password_hash=application.password_hash,
        )
        application.driver_id = driver.id
        self.repo.add(
            CourierProfile(
                driver_id=driver.id,
                application_id=application.id,
                availability=application.availability,
                zone_ids=application.preferred_zone_ids,
            )
        )
        await self.repo.flush()
        await move(
            self.session, application, "active", Actor.of(principal), "courier account created"
        )
        return await self.applications.read(application)

    async def _require_clear_check(self, application: CourierApplication) -> None:
        checks = await self.repo.checks(application.id)
        latest = checks[-1] if checks else None
        if latest is None or latest.status != "clear":
            state = latest.status if latest else "none"
            raise Conflict(
                f"The background check is {state}; approval needs a clear one",
                code="check_not_clear",
                errors=[{"field": "checks", "message": state}],
            )

    async def _hub_of_zones(self, application: CourierApplication) -> UUID:
        zones = [UUID(z) for z in application.preferred_zone_ids]
        hubs = await self.repo.zone_hubs(zones)
        for zone_id in zones:
            if zone_id in hubs:
                return hubs[zone_id]
        raise Invalid(
            "Name the courier's home hub: the application has no preferred zone",
            field="home_hub_id",
        )

    # after approval ----------------------------------------------------------------------------

    async def lifecycle(
        self, application_id: UUID, principal: Principal, action: str, reason: str | None
    ) -> ApplicationRead:
        application = await self._locked(application_id, principal)
        lifecycle = CourierLifecycle(self.session, self.rules)
        if action == "suspend":
            await lifecycle.suspend(application, principal, reason or "")
        elif action == "reactivate":
            await lifecycle.reactivate(application, principal, reason)
        else:
            await lifecycle.offboard(application, principal, reason or "")
        return await self.applications.read(application)

    async def document_reads(self, application_id: UUID) -> list[dict[str, Any]]:
        return [
            {
                "document_id": str(r.document_id),
                "reader_kind": r.reader_kind,
                "reader_id": str(r.reader_id) if r.reader_id else None,
                "at": r.at.isoformat(),
            }
            for r in await self.repo.reads(application_id)
        ]
