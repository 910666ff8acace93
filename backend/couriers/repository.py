"""Queries of the courier domain (applications, documents, checks, transitions, profiles)."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.couriers.models import (
    CLOSED_STATUSES,
    CourierApplication,
    CourierCheck,
    CourierDocument,
    CourierDocumentRead,
    CourierMessage,
    CourierProfile,
    CourierTransition,
)
from backend.lib.geo import point_to_db
from backend.network.models import Zone
from backend.pod.models import Blob


class CourierRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, *objects: object) -> None:
        self.session.add_all(objects)

    async def flush(self) -> None:
        await self.session.flush()

    # applications ------------------------------------------------------------------------------

    async def application(
        self, application_id: UUID, *, for_update: bool = False
    ) -> CourierApplication | None:
        return await self.session.get(
            CourierApplication, application_id, with_for_update=for_update or None
        )

    async def application_of_driver(self, driver_id: UUID) -> CourierApplication | None:
        return await self.session.scalar(
            select(CourierApplication).where(CourierApplication.driver_id == driver_id)
        )

    async def open_application_exists(self, email: str) -> bool:
        return bool(
            await self.session.scalar(
                select(func.count())
                .select_from(CourierApplication)
                .where(
                    CourierApplication.email == email,
                    CourierApplication.status.not_in(CLOSED_STATUSES),
                )
            )
        )

    async def recent_applications(
        self, *, since: datetime, email: str | None = None, address: str | None = None
    ) -> int:
        query = select(func.count()).select_from(CourierApplication)
        query = query.where(CourierApplication.created_at >= since)
        if email is not None:
            query = query.where(CourierApplication.email == email)
        if address is not None:
            query = query.where(CourierApplication.created_from == address)
        return int(await self.session.scalar(query) or 0)

    async def page(
        self, *, after: UUID | None, limit: int, status: str | None, city: str | None
    ) -> Sequence[CourierApplication]:
        query = select(CourierApplication).order_by(CourierApplication.id).limit(limit)
        if after:
            query = query.where(CourierApplication.id > after)
        if status:
            query = query.where(CourierApplication.status == status)
        if city:
            query = query.where(func.lower(CourierApplication.city) == city.lower())
        return (await self.session.scalars(query)).all()

    async def zone_hubs(self, zone_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        rows = await self.session.execute(
            select(Zone.id, Zone.hub_id).where(Zone.id.in_(list(zone_ids)))
        )
        return {zone_id: hub_id for zone_id, hub_id in rows}

    # documents ---------------------------------------------------------------------------------

    async def documents(self, application_id: UUID) -> Sequence[CourierDocument]:
        return (
            await self.session.scalars(
                select(CourierDocument)
                .where(CourierDocument.application_id == application_id)
                .order_by(CourierDocument.created_at, CourierDocument.id)
            )
        ).all()

    async def document(self, application_id: UUID, document_id: UUID) -> CourierDocument | None:
        document = await self.session.get(CourierDocument, document_id)
        return document if document and document.application_id == application_id else None

    async def supersede(self, application_id: UUID, kind: str) -> None:
        await self.session.execute(
            update(CourierDocument)
            .where(
                CourierDocument.application_id == application_id,
                CourierDocument.kind == kind,
                CourierDocument.status != "superseded",
            )
            .values(status="superseded")
        )

    async def blob_exists(self, sha256: str) -> bool:
        return await self.session.get(Blob, sha256) is not None

    async def log_read(
        self, application_id: UUID, document_id: UUID, reader_kind: str, reader_id: UUID | None
    ) -> None:
        self.add(
            CourierDocumentRead(
                application_id=application_id,
                document_id=document_id,
                reader_kind=reader_kind,
                reader_id=reader_id,
            )
        )
        await self.session.flush()

    async def reads(self, application_id: UUID) -> Sequence[CourierDocumentRead]:
        return (
            await self.session.scalars(
                select(CourierDocumentRead)
                .where(CourierDocumentRead.application_id == application_id)
                .order_by(CourierDocumentRead.id)
            )
        ).all()

    async def expired_couriers(self, today: date) -> Sequence[Row]:
        """(application, document kind, expires_on) of active couriers whose current document
        expired; the service decides which kinds are required."""
        return (
            await self.session.execute(
                select(CourierApplication, CourierDocument.kind, CourierDocument.expires_on)
                .join(CourierDocument, CourierDocument.application_id == CourierApplication.id)
                .where(
                    CourierApplication.status == "active",
                    CourierDocument.status.in_(("pending", "verified")),
                    CourierDocument.expires_on < today,
                )
                .order_by(CourierApplication.id)
                .with_for_update(of=CourierApplication, skip_locked=True)
            )
        ).all()

    async def purgeable(self, cutoff: datetime, limit: int) -> Sequence[CourierApplication]:
        """Closed applications past retention that still hold documents."""
        has_documents = (
            select(CourierDocument.id)
            .where(CourierDocument.application_id == CourierApplication.id)
            .exists()
        )
        return (
            await self.session.scalars(
                select(CourierApplication)
                .where(
                    CourierApplication.status.in_(CLOSED_STATUSES),
                    CourierApplication.status_changed_at < cutoff,
                    has_documents,
                )
                .order_by(CourierApplication.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()

    async def delete_documents(self, application_ids: Sequence[UUID]) -> list[str]:
        """Delete the documents; returns the hashes of their blobs."""
        rows = await self.session.execute(
            delete(CourierDocument)
            .where(CourierDocument.application_id.in_(list(application_ids)))
            .returning(CourierDocument.blob_sha256)
        )
        return sorted({sha for (sha,) in rows})

    async def unreferenced_blobs(self, hashes: Sequence[str]) -> list[str]:
        """Those of `hashes` that no document and no proof of delivery names any more."""
        if not hashes:
            return []
        rows = await self.session.execute(
            text(
                """
                SELECT sha FROM unnest(CAST(:hashes AS text[])) AS sha
                WHERE NOT EXISTS (SELECT 1 FROM courier_documents d WHERE d.blob_sha256 = sha)
                  AND NOT EXISTS (SELECT 1 FROM pods p
                                  WHERE p.signature_sha256 = sha OR p.photo_sha256s ? sha)
                ORDER BY sha
                """
            ),
            {"hashes": list(hashes)},
        )
        return [sha for (sha,) in rows]

    async def delete_blob_rows(self, hashes: Sequence[str]) -> None:
        if hashes:
            await self.session.execute(delete(Blob).where(Blob.sha256.in_(list(hashes))))

    # transitions, checks, messages -------------------------------------------------------------

    async def transitions(self, application_id: UUID) -> Sequence[CourierTransition]:
        return (
            await self.session.scalars(
                select(CourierTransition)
                .where(CourierTransition.application_id == application_id)
                .order_by(CourierTransition.at, CourierTransition.id)
            )
        ).all()

    async def checks(self, application_id: UUID) -> Sequence[CourierCheck]:
        return (
            await self.session.scalars(
                select(CourierCheck)
                .where(CourierCheck.application_id == application_id)
                .order_by(CourierCheck.created_at, CourierCheck.id)
            )
        ).all()

    async def check(self, check_id: UUID, *, for_update: bool = False) -> CourierCheck | None:
        return await self.session.get(CourierCheck, check_id, with_for_update=for_update or None)

    async def message(self, message_id: UUID) -> CourierMessage | None:
        return await self.session.get(CourierMessage, message_id)

    async def messages(self, application_id: UUID) -> Sequence[CourierMessage]:
        return (
            await self.session.scalars(
                select(CourierMessage)
                .where(CourierMessage.application_id == application_id)
                .order_by(CourierMessage.created_at, CourierMessage.id)
            )
        ).all()

    # profiles ----------------------------------------------------------------------------------

    async def profile(self, driver_id: UUID) -> CourierProfile | None:
        return await self.session.get(CourierProfile, driver_id)

    async def set_online(
        self, driver_id: UUID, lon: float | None, lat: float | None, at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"online": lon is not None, "online_since": at}
        if lon is not None and lat is not None:
            values |= {"position": point_to_db(lon, lat), "position_at": at}
        await self.session.execute(
            update(CourierProfile).where(CourierProfile.driver_id == driver_id).values(**values)
        )
