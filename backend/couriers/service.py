"""The applicant's side: apply, verify the email, upload documents, submit.

An applicant reaches only their own application (the token's id); anyone else's is 404. Staff
read every application. Services flush, never commit.
"""

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.passwords import check_new_password, hash_password
from backend.auth.schemas import Principal
from backend.couriers.lifecycle import set_driver_active
from backend.couriers.messages import ApplicantMessages
from backend.couriers.models import CourierApplication, CourierDocument
from backend.couriers.repository import CourierRepository
from backend.couriers.rules import CourierRules
from backend.couriers.schemas import (
    ApplicationCreate,
    ApplicationCreated,
    ApplicationRead,
    ApplicationUpdate,
    DocumentCreate,
    DocumentRead,
)
from backend.couriers.state import EDITABLE, UPLOADS_OPEN
from backend.couriers.tokens import issue_applicant_token
from backend.couriers.transitions import Actor, move
from backend.couriers.views import application_read, document_read, missing_documents
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, DomainError, Invalid, NotFound, RateLimited
from backend.lib.ids import uuid7

MAX_CODE_ATTEMPTS = 5
MAX_CODES_SENT = 5
# Expiry dates further out than this are typing mistakes (year 20260 …).
MAX_EXPIRY_YEARS = 30


class Incomplete(DomainError):
    """Submission refused: `errors` lists exactly what is missing."""

    status = 422
    code = "incomplete_application"


class ApplicationService:
    def __init__(self, session: AsyncSession, rules: CourierRules) -> None:
        self.session = session
        self.rules = rules
        self.repo = CourierRepository(session)

    # reads -------------------------------------------------------------------------------------

    async def visible(
        self, application_id: UUID, principal: Principal, *, for_update: bool = False
    ) -> CourierApplication:
        """The application if the caller may see it: staff any, an applicant their own."""
        if not (principal.is_staff or _is_own(principal, application_id)):
            raise NotFound("No such application")
        application = await self.repo.application(application_id, for_update=for_update)
        if application is None:
            raise NotFound("No such application")
        return application

    async def get(self, application_id: UUID, principal: Principal) -> ApplicationRead:
        return await self.read(await self.visible(application_id, principal))

    async def read(self, application: CourierApplication) -> ApplicationRead:
        today = utcnow().date()
        return await application_read(self.repo, application, self.rules.requirements, today)

    # applying ----------------------------------------------------------------------------------

    async def apply(self, data: ApplicationCreate, address: str | None) -> ApplicationCreated:
        email = data.email.lower()
        await self._check_rate(email, address)
        check_new_password(data.password, email)
        await self._check_zones(data.preferred_zone_ids)
        if await self.repo.open_application_exists(email):
            raise _email_taken()
        application = CourierApplication(
            id=uuid7(),
            status="draft",
            status_changed_at=utcnow(),
            name=data.name,
            email=email,
            phone=data.phone,
            password_hash=hash_password(data.password),
            city=data.city,
            vehicle_kind=data.vehicle.kind,
            vehicle_plate=data.vehicle.plate,
            capacity_parcels=data.vehicle.capacity_parcels,
            capacity_kg=data.vehicle.capacity_kg,
            preferred_zone_ids=[str(z) for z in dict.fromkeys(data.preferred_zone_ids)],
            availability=msgspec.to_builtins(data.availability),
            created_from=address,
        )
        self.repo.add(application)
        try:
            # A savepoint: two concurrent applications with one email meet at the unique index.
            async with self.session.begin_nested():
                await self.repo.flush()
        except IntegrityError:
            raise _email_taken() from None
        await self._send_code(application)
        token = issue_applicant_token(application.id, self.rules.secret_key)
        return ApplicationCreated(id=application.id, status="draft", applicant_token=token)

    async def update(
        self, application_id: UUID, principal: Principal, data: ApplicationUpdate
    ) -> ApplicationRead:
        application = await self._own(application_id, principal)
        if application.status not in EDITABLE:
            raise _not_now(application.status, "edited")
        changes = msgspec.structs.asdict(data)
        vehicle = changes.pop("vehicle")
        if vehicle is not msgspec.UNSET:
            application.vehicle_kind = vehicle.kind
            application.vehicle_plate = vehicle.plate
            application.capacity_parcels = vehicle.capacity_parcels
            application.capacity_kg = vehicle.capacity_kg
        zones = changes.pop("preferred_zone_ids")
        if zones is not msgspec.UNSET:
            await self._check_zones(zones)
            application.preferred_zone_ids = [str(z) for z in dict.fromkeys(zones)]
        slots = changes.pop("availability")
        if slots is not msgspec.UNSET:
            application.availability = msgspec.to_builtins(slots)
        for field, value in changes.items():
            if value is not msgspec.UNSET:
                setattr(application, field, value)
        await self.repo.flush()
        return await self.read(application)

    # email verification ------------------------------------------------------------------------

    async def resend_code(self, application_id: UUID, principal: Principal) -> None:
        application = await self._own(application_id, principal)
        if application.email_verified_at is not None:
            raise Conflict("The email is already verified", code="email_verified")
        await self._send_code(application)

    async def verify_email(self, application_id: UUID, principal: Principal, code: str) -> bool:
        """True when verified. A wrong code is False, not an error: the attempt it used up must
        be committed, so the controller answers 422 itself."""
        application = await self._own(application_id, principal)
        if application.email_verified_at is not None:
            return True  # verifying twice is harmless
        now = utcnow()
        expires = application.email_code_expires_at
        expired = expires is None or expires < now
        if expired or application.email_code_attempts >= MAX_CODE_ATTEMPTS:
            raise Invalid(
                "The code has expired or was tried too often: ask for a new one",
                field="code",
                code="code_expired",
            )
        application.email_code_attempts += 1
        expected = application.email_code_hash or ""
        if not secrets.compare_digest(expected, _code_hash(application.id, code)):
            await self.repo.flush()
            return False
        application.email_verified_at = now
        application.email_code_hash = None
        await self.repo.flush()
        return True

    async def _send_code(self, application: CourierApplication) -> None:
        if application.email_codes_sent >= MAX_CODES_SENT:
            raise RateLimited(
                f"At most {MAX_CODES_SENT} codes are sent for one application", retry_after=3600
            )
        code = f"{secrets.randbelow(1_000_000):06d}"
        application.email_code_hash = _code_hash(application.id, code)
        application.email_code_expires_at = utcnow() + timedelta(
            seconds=self.rules.email_code_ttl_seconds
        )
        application.email_code_attempts = 0
        application.email_codes_sent += 1
        await self.repo.flush()
        await ApplicantMessages(self.session).queue(
            application, "email_code", f"Your Lastmile courier application code is {code}."
        )

    # documents ---------------------------------------------------------------------------------

    async def add_document(
        self, application_id: UUID, principal: Principal, data: DocumentCreate
    ) -> DocumentRead:
        application = await self._own(application_id, principal, for_update=True)
        if application.status not in UPLOADS_OPEN:
            raise _not_now(application.status, "given documents")
        today = utcnow().date()
        if data.expires_on is not None and data.expires_on < today:
            raise Invalid("The document has already expired", field="expires_on")
        if data.expires_on is not None and data.expires_on.year > today.year + MAX_EXPIRY_YEARS:
            raise Invalid("That expiry date is implausibly far away", field="expires_on")
        if not await self.repo.blob_exists(data.blob_sha256):
            raise Invalid(
                "No such blob: upload it first with PUT /v1/blobs/{sha256}",
                field="blob_sha256",
                code="unknown_blob",
            )
        await self.repo.supersede(application.id, data.kind)
        document = CourierDocument(
            id=uuid7(),
            application_id=application.id,
            kind=data.kind,
            blob_sha256=data.blob_sha256,
            expires_on=data.expires_on,
            status="pending",
            created_at=utcnow(),
        )
        self.repo.add(document)
        await self.repo.flush()
        await self._reactivate_if_complete(application, data.kind)
        return document_read(document)

    async def document_content(
        self, application_id: UUID, document_id: UUID, principal: Principal
    ) -> str:
        """The document's blob hash, once the read is logged; 404 unless the caller may see it."""
        application = await self.visible(application_id, principal)
        document = await self.repo.document(application.id, document_id)
        if document is None:
            raise NotFound("No such document")
        actor = Actor.of(principal)
        await self.repo.log_read(application.id, document.id, actor.kind, actor.id)
        return document.blob_sha256

    async def _reactivate_if_complete(self, application: CourierApplication, kind: str) -> None:
        """A courier suspended for an expired document is active again once nothing required
        is missing."""
        if application.status != "suspended" or application.suspended_for != "document_expired":
            return
        today = utcnow().date()
        documents = await self.repo.documents(application.id)
        if missing_documents(application, documents, self.rules.requirements, today):
            return
        reason = f"valid {kind} uploaded"
        await move(self.session, application, "active", Actor("applicant"), reason)
        application.suspended_for = None
        await set_driver_active(self.session, application, True)

    # submission --------------------------------------------------------------------------------

    async def submit(self, application_id: UUID, principal: Principal) -> ApplicationRead:
        application = await self._own(application_id, principal, for_update=True)
        if application.status != "draft":
            raise Conflict(
                f"The application is {application.status}; only a draft can be submitted",
                code="illegal_transition",
                errors=[{"field": "status", "message": application.status}],
            )
        problems = missing_documents(
            application,
            await self.repo.documents(application.id),
            self.rules.requirements,
            utcnow().date(),
        )
        if application.email_verified_at is None:
            problems.insert(0, {"field": "email", "message": "not verified"})
        if problems:
            detail = "; ".join(f"{p['field']} {p['message']}" for p in problems)
            raise Incomplete(f"Not ready to submit: {detail}", errors=problems)
        await move(self.session, application, "submitted", Actor.of(principal))
        return await self.read(application)

    # internals ---------------------------------------------------------------------------------

    async def _own(
        self, application_id: UUID, principal: Principal, *, for_update: bool = False
    ) -> CourierApplication:
        """Applicant-only actions: staff do not act for the applicant."""
        if not _is_own(principal, application_id):
            raise NotFound("No such application")
        return await self.visible(application_id, principal, for_update=for_update)

    async def _check_rate(self, email: str, address: str | None) -> None:
        since = utcnow() - timedelta(hours=1)
        limit = self.rules.applications_per_hour
        if address and await self.repo.recent_applications(since=since, address=address) >= limit:
            raise RateLimited(
                "Too many applications from this address; try again later", retry_after=3600
            )
        if await self.repo.recent_applications(since=since, email=email) >= limit:
            raise RateLimited(
                "Too many applications for this email; try again later", retry_after=3600
            )

    async def _check_zones(self, zone_ids: list[UUID]) -> None:
        if not zone_ids:
            return
        known = await self.repo.zone_hubs(zone_ids)
        for i, zone_id in enumerate(zone_ids):
            if zone_id not in known:
                raise Invalid("No such zone", field=f"preferred_zone_ids[{i}]", code="unknown_zone")


def _is_own(principal: Principal, application_id: UUID) -> bool:
    return principal.role == "applicant" and principal.user_id == application_id


def _code_hash(application_id: UUID, code: str) -> str:
    return hashlib.sha256(f"{application_id}:{code}".encode()).hexdigest()


def _email_taken() -> Conflict:
    return Conflict(
        "An application with this email is already open",
        code="application_exists",
        errors=[{"field": "email", "message": "an application with this email is open"}],
    )


def _not_now(status: str, what: str) -> Conflict:
    return Conflict(
        f"The application is {status}; it cannot be {what} now",
        code="illegal_transition",
        errors=[{"field": "status", "message": status}],
    )
