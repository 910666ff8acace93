"""HTTP for courier applications (public start, applicant token, review), the signed check
callback, and the courier's own availability."""

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from backend.auth.guards import requires, staff_only
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.couriers.availability import AvailabilityService
from backend.couriers.checks import verify_callback
from backend.couriers.review import ReviewService
from backend.couriers.rules import rules_from
from backend.couriers.schemas import (
    PLAIN_TEXT,
    ApplicationCreate,
    ApplicationCreated,
    ApplicationRead,
    ApplicationStatus,
    ApplicationSummary,
    ApplicationUpdate,
    ApproveBody,
    AvailabilityBody,
    CheckResult,
    CourierStatus,
    DocumentCreate,
    DocumentRead,
    EmailCode,
    OnlineBody,
    OptionalReason,
    ReasonBody,
    Requirements,
    VehicleKind,
)
from backend.couriers.service import ApplicationService, Incomplete
from backend.db.session import DbSession
from backend.lib.errors import (
    Conflict,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    decode_body,
    problem,
)
from backend.lib.openapi import raises, raw_body, raw_response
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.pod.blobs import BLOB_TYPES, BlobService
from backend.pod.storage import blob_store

applicant_or_staff = requires("applicant", "admin", "dispatcher")
applicant_only = requires("applicant")
CALLBACK_MAX_BYTES = 16 * 1024
APPLICATION_MAX_BYTES = 64 * 1024
AppRequest = Request[Principal, Any, Any]
SettingsDep = NamedDependency[Settings]


def _applications(db_session: DbSession, settings: Settings) -> ApplicationService:
    return ApplicationService(db_session, rules_from(settings))


def _review(db_session: DbSession, settings: Settings) -> ReviewService:
    return ReviewService(db_session, rules_from(settings))


class CourierApplicationController(Controller):
    path = "/v1/courier-applications"
    tags = ["couriers"]

    @post(
        exclude_from_auth=True,
        status_code=201,
        opt=raises(
            (Conflict, "application_exists"),
            RateLimited,
            (
                Invalid,
                "password_too_short",
                "password_too_common",
                "password_is_email",
                "unknown_zone",
            ),
        )
        | raw_body(ApplicationCreate),
    )
    async def apply(
        self, request: Request, db_session: DbSession, settings: SettingsDep
    ) -> ApplicationCreated:
        """Apply to become a courier.

        Apply (no sign-in). Body: `ApplicationCreate` (docs/couriers.md), at most 64 kB.
        Answers the applicant token, the only key to this application: keep it. A code to
        verify the email is sent at once."""
        # The public door: the body is read under a limit and decoded straight into its shape,
        # so a flood of bytes or nesting is a 4xx before anything else runs.
        body = await request.body()
        if len(body) > APPLICATION_MAX_BYTES:
            raise PayloadTooLarge(f"An application is at most {APPLICATION_MAX_BYTES} bytes")
        data = decode_body(body, ApplicationCreate)
        # Rate limit hook: a per-address and per-email count in the database (see
        # docs/couriers.md); a shared limiter can take over here.
        address = request.client.host if request.client else None
        return await _applications(db_session, settings).apply(data, address)

    @get("/requirements", exclude_from_auth=True)
    async def requirements(
        self, vehicle_kind: FromQuery[VehicleKind], settings: SettingsDep
    ) -> Requirements:
        """The documents an application with this vehicle kind must hold to be submitted."""
        required = rules_from(settings).requirements[vehicle_kind]
        return Requirements(vehicle_kind, list(required))  # type: ignore[arg-type]

    @get(guards=[staff_only])
    async def list_applications(
        self,
        db_session: DbSession,
        settings: SettingsDep,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        status: FromQuery[ApplicationStatus | None] = None,
        city: Annotated[str | None, Parameter(max_length=100, pattern=PLAIN_TEXT)] = None,
    ) -> Page[ApplicationSummary]:
        """List courier applications for review, optionally by status or city."""
        return await _review(db_session, settings).page(
            status=status, city=city, cursor=cursor, limit=limit
        )

    @get("/{application_id:uuid}", guards=[applicant_or_staff])
    async def get_application(
        self,
        application_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """One application with its documents, checks and history: the applicant's own, or any for
        reviewers."""
        return await _applications(db_session, settings).get(application_id, request.user)

    @patch(
        "/{application_id:uuid}",
        guards=[applicant_only],
        opt=raises(
            (Conflict, "illegal_transition"),
            (Conflict, "application_exists"),
            (Invalid, "unknown_zone"),
        ),
    )
    async def update_application(
        self,
        application_id: FromPath[UUID],
        data: JSONBody[ApplicationUpdate],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Change a draft application.

        Change a draft; fields left out stay."""
        return await _applications(db_session, settings).update(application_id, request.user, data)

    @post(
        "/{application_id:uuid}/email-code",
        guards=[applicant_only],
        status_code=202,
        opt=raises((Conflict, "email_verified"), RateLimited),
    )
    async def resend_code(
        self,
        application_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> None:
        """Send a new email code (the previous one stops working)."""
        await _applications(db_session, settings).resend_code(application_id, request.user)

    @post(
        "/{application_id:uuid}/verify-email",
        guards=[applicant_only],
        status_code=200,
        opt=raises(
            (Invalid, "wrong_code", "code_expired"), (Conflict, "email_verified"), RateLimited
        ),
    )
    async def verify_email(
        self,
        application_id: FromPath[UUID],
        data: JSONBody[EmailCode],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> Response[Any]:
        """Verify the application's email with the code sent to it. A wrong code is 422
        `wrong_code` and uses up an attempt; an expired one 422 `code_expired`."""
        service = _applications(db_session, settings)
        if not await service.verify_email(application_id, request.user, data.code):
            # A normal return, so the used-up attempt is committed.
            return problem(
                422,
                "The code is not the one we sent",
                code="wrong_code",
                errors=[{"field": "code", "message": "wrong code"}],
            )
        return Response(await service.get(application_id, request.user))

    @post(
        "/{application_id:uuid}/documents",
        guards=[applicant_only],
        status_code=201,
        opt=raises((Conflict, "illegal_transition"), (Invalid, "invalid", "unknown_blob")),
    )
    async def add_document(
        self,
        application_id: FromPath[UUID],
        data: JSONBody[DocumentCreate],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> DocumentRead:
        """Name an uploaded blob as a document; it replaces an earlier one of the same kind."""
        return await _applications(db_session, settings).add_document(
            application_id, request.user, data
        )

    @get(
        "/{application_id:uuid}/documents/{document_id:uuid}/content",
        guards=[applicant_or_staff],
        opt=raises((NotFound, "blob_missing")) | raw_response(*BLOB_TYPES),
    )
    async def document_content(
        self,
        application_id: FromPath[UUID],
        document_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> Response[bytes]:
        """The document's file, for the applicant and reviewers; every read is logged."""
        sha256 = await _applications(db_session, settings).document_content(
            application_id, document_id, request.user
        )
        blobs = BlobService(db_session, blob_store(settings))
        data, content_type = await blobs.read_stored(sha256), await blobs.content_type(sha256)
        if data is None or content_type is None:
            raise NotFound("The document's file is missing", code="blob_missing")
        return Response(data, media_type=content_type, headers={"cache-control": "no-store"})

    @get("/{application_id:uuid}/document-reads", guards=[staff_only])
    async def document_reads(
        self, application_id: FromPath[UUID], db_session: DbSession, settings: SettingsDep
    ) -> list[dict[str, Any]]:
        """The read log of the application's documents."""
        return await _review(db_session, settings).document_reads(application_id)

    @post(
        "/{application_id:uuid}/submit",
        guards=[applicant_only],
        status_code=200,
        opt=raises((Conflict, "illegal_transition"), Incomplete),
    )
    async def submit(
        self,
        application_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Submit the application for review.

        draft -> submitted, once the email is verified and every required document is
        present and unexpired; else 422 listing what is missing."""
        return await _applications(db_session, settings).submit(application_id, request.user)


class CourierReviewController(Controller):
    """Decisions on applications; admin and dispatcher."""

    path = "/v1/courier-applications/{application_id:uuid}"
    tags = ["couriers"]
    guards = [staff_only]

    @post("/start-review", status_code=200, opt=raises((Conflict, "illegal_transition")))
    async def start_review(
        self,
        application_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Start reviewing an application: submitted -> under_review."""
        return await _review(db_session, settings).start_review(application_id, request.user)

    @post("/checks", status_code=200, opt=raises((Conflict, "illegal_transition")))
    async def start_check(
        self,
        application_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Start the background check.

        under_review -> checks_pending; the provider answers at the signed callback."""
        return await _review(db_session, settings).start_check(application_id, request.user)

    @post(
        "/approve",
        status_code=200,
        opt=raises((Conflict, "illegal_transition"), (Conflict, "check_not_clear")),
    )
    async def approve(
        self,
        application_id: FromPath[UUID],
        data: JSONBody[ApproveBody],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Approve an application: the courier becomes active.

        Needs a clear check; creates the courier as a driver and makes them active."""
        return await _review(db_session, settings).approve(application_id, request.user, data)

    @post("/reject", status_code=200, opt=raises((Conflict, "illegal_transition")))
    async def reject(
        self,
        application_id: FromPath[UUID],
        data: JSONBody[ReasonBody],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Reject an application (submitted, under review or checks pending); rejected is final."""
        return await _review(db_session, settings).reject(application_id, request.user, data.reason)

    @post(
        "/documents/{document_id:uuid}/verify",
        status_code=200,
        opt=raises((Conflict, "illegal_transition"), (Conflict, "superseded")),
    )
    async def verify_document(
        self,
        application_id: FromPath[UUID],
        document_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> DocumentRead:
        """Mark one document as checked and valid."""
        return await _review(db_session, settings).review_document(
            application_id, document_id, request.user, "verified", None
        )

    @post(
        "/documents/{document_id:uuid}/reject",
        status_code=200,
        opt=raises((Conflict, "illegal_transition"), (Conflict, "superseded")),
    )
    async def reject_document(
        self,
        application_id: FromPath[UUID],
        document_id: FromPath[UUID],
        data: JSONBody[ReasonBody],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> DocumentRead:
        """The applicant must upload this one document again."""
        return await _review(db_session, settings).review_document(
            application_id, document_id, request.user, "rejected", data.reason
        )

    @post("/suspend", status_code=200, opt=raises((Conflict, "illegal_transition")))
    async def suspend(
        self,
        application_id: FromPath[UUID],
        data: JSONBody[ReasonBody],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Suspend an active courier with a reason: no offers reach them until reactivated."""
        return await _review(db_session, settings).lifecycle(
            application_id, request.user, "suspend", data.reason
        )

    @post("/reactivate", status_code=200, opt=raises((Conflict, "illegal_transition")))
    async def reactivate(
        self,
        application_id: FromPath[UUID],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
        data: JSONBody[OptionalReason | None] = None,
    ) -> ApplicationRead:
        """Make a suspended courier active again."""
        return await _review(db_session, settings).lifecycle(
            application_id, request.user, "reactivate", data.reason if data else None
        )

    @post("/offboard", status_code=200, opt=raises((Conflict, "illegal_transition")))
    async def offboard(
        self,
        application_id: FromPath[UUID],
        data: JSONBody[ReasonBody],
        request: AppRequest,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> ApplicationRead:
        """Offboard an active or suspended courier; offboarded is final."""
        return await _review(db_session, settings).lifecycle(
            application_id, request.user, "offboard", data.reason
        )


class CourierCheckController(Controller):
    path = "/v1/courier-checks"
    tags = ["couriers"]

    @post(
        "/{check_id:uuid}/result",
        exclude_from_auth=True,
        status_code=200,
        opt=raises((Unauthorized, "bad_signature"), Invalid, (Conflict, "illegal_transition"))
        | raw_body(CheckResult),
    )
    async def check_result(
        self,
        check_id: FromPath[UUID],
        request: Request,
        db_session: DbSession,
        settings: SettingsDep,
    ) -> dict[str, str]:
        """Receive a background check's result (provider callback).

        The check provider's answer, signed with Standard Webhooks (`webhook-id`,
        `webhook-timestamp`, `webhook-signature`); a bad or stale signature is 401."""
        body = await request.body()
        if len(body) > CALLBACK_MAX_BYTES:
            raise PayloadTooLarge(f"A check result is at most {CALLBACK_MAX_BYTES} bytes")
        message_id = verify_callback(settings.courier_checks_secret, body, dict(request.headers))
        result = decode_body(body, CheckResult)
        outcome = await _review(db_session, settings).record_result(check_id, result, message_id)
        return {"result": outcome}


class CourierController(Controller):
    """A courier's own availability and online status."""

    path = "/v1/couriers/me"
    tags = ["couriers"]
    guards = [requires("driver")]

    @get(opt=raises((NotFound, "not_found")))
    async def me(self, request: AppRequest, db_session: DbSession) -> CourierStatus:
        """Your courier status: application status, online or not (since when, where), and your
        availability slots."""
        return await AvailabilityService(db_session).me(request.user)

    @put("/availability", opt=raises((NotFound, "not_found")))
    async def set_availability(
        self, data: JSONBody[AvailabilityBody], request: AppRequest, db_session: DbSession
    ) -> CourierStatus:
        """Set your weekly availability.

        Weekly slots (ISO weekday, `HH:MM` UTC); replaces the previous ones."""
        return await AvailabilityService(db_session).set_availability(
            request.user, data.availability
        )

    @post(
        "/online",
        status_code=200,
        opt=raises((NotFound, "not_found"), (Conflict, "courier_not_active")),
    )
    async def go_online(
        self, data: JSONBody[OnlineBody], request: AppRequest, db_session: DbSession
    ) -> CourierStatus:
        """Go online.

        Online at a position (GeoJSON point): offers can now reach you."""
        return await AvailabilityService(db_session).go_online(request.user, data.position)

    @post("/offline", status_code=200, opt=raises((NotFound, "not_found")))
    async def go_offline(self, request: AppRequest, db_session: DbSession) -> CourierStatus:
        """Offline: no offers reach you until you go online again."""
        return await AvailabilityService(db_session).go_offline(request.user)
