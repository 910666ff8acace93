"""Reads of applications: what the applicant and reviewers see, and what is still missing."""

from collections.abc import Mapping, Sequence
from datetime import date
from uuid import UUID

import msgspec

from backend.couriers.models import CourierApplication, CourierDocument
from backend.couriers.repository import CourierRepository
from backend.couriers.schemas import (
    ApplicationRead,
    ApplicationSummary,
    AvailabilitySlot,
    CheckRead,
    DocumentRead,
    TransitionRead,
    Vehicle,
)


def current_documents(documents: Sequence[CourierDocument]) -> dict[str, CourierDocument]:
    """The newest non-superseded document of each kind."""
    return {d.kind: d for d in documents if d.status != "superseded"}


def missing_documents(
    application: CourierApplication,
    documents: Sequence[CourierDocument],
    requirements: Mapping[str, tuple[str, ...]],
    today: date,
) -> list[dict[str, str]]:
    """One `{field, message}` per required document that is absent, rejected or expired."""
    current = current_documents(documents)
    problems = []
    for kind in requirements[application.vehicle_kind]:
        document = current.get(kind)
        if document is None:
            problems.append({"field": f"documents.{kind}", "message": "missing"})
        elif document.status == "rejected":
            reason = document.review_reason or "rejected"
            problems.append({"field": f"documents.{kind}", "message": f"rejected: {reason}"})
        elif document.expires_on is not None and document.expires_on < today:
            problems.append(
                {"field": f"documents.{kind}", "message": f"expired on {document.expires_on}"}
            )
    return problems


def vehicle_of(application: CourierApplication) -> Vehicle:
    return Vehicle(
        kind=application.vehicle_kind,  # type: ignore[arg-type]
        plate=application.vehicle_plate,
        capacity_parcels=application.capacity_parcels,
        capacity_kg=application.capacity_kg,
    )


def slots(raw: list[dict]) -> list[AvailabilitySlot]:
    return msgspec.convert(raw, list[AvailabilitySlot])


async def application_read(
    repo: CourierRepository,
    application: CourierApplication,
    requirements: Mapping[str, tuple[str, ...]],
    today: date,
) -> ApplicationRead:
    documents = await repo.documents(application.id)
    return ApplicationRead(
        id=application.id,
        status=application.status,  # type: ignore[arg-type]
        name=application.name,
        email=application.email,
        email_verified=application.email_verified_at is not None,
        phone=application.phone,
        city=application.city,
        vehicle=vehicle_of(application),
        preferred_zone_ids=[UUID(z) for z in application.preferred_zone_ids],
        availability=slots(application.availability),
        driver_id=application.driver_id,
        missing_documents=[
            p["field"].removeprefix("documents.")
            for p in missing_documents(application, documents, requirements, today)
        ],
        documents=[document_read(d) for d in documents],
        checks=[
            CheckRead(c.id, c.provider, c.status, c.created_at, c.completed_at)  # type: ignore[arg-type]
            for c in await repo.checks(application.id)
        ],
        transitions=[
            TransitionRead(t.from_status, t.to_status, t.actor_kind, t.actor_id, t.reason, t.at)
            for t in await repo.transitions(application.id)
        ],
        created_at=application.created_at,
        status_changed_at=application.status_changed_at,
    )


def document_read(document: CourierDocument) -> DocumentRead:
    return DocumentRead(
        id=document.id,
        kind=document.kind,  # type: ignore[arg-type]
        blob_sha256=document.blob_sha256,
        expires_on=document.expires_on,
        status=document.status,  # type: ignore[arg-type]
        review_reason=document.review_reason,
        created_at=document.created_at,
    )


def summary(application: CourierApplication) -> ApplicationSummary:
    return ApplicationSummary(
        id=application.id,
        status=application.status,  # type: ignore[arg-type]
        name=application.name,
        city=application.city,
        vehicle_kind=application.vehicle_kind,  # type: ignore[arg-type]
        created_at=application.created_at,
        status_changed_at=application.status_changed_at,
    )
