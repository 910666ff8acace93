"""Organisations and their API keys."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.geo import area_from_db, to_db
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.partners.keys import new_key
from backend.partners.models import CARRIER_KINDS, SHIPPER, ApiKey, Organization
from backend.partners.repository import PartnerRepository
from backend.partners.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    ApiKeyUpdate,
    OrganizationCreate,
    OrganizationRead,
)

DEFAULT_SCOPES = {
    SHIPPER: ["shipments:write", "shipments:read", "webhooks:manage"],
    **{kind: ["shipments:read", "events:write", "webhooks:manage"] for kind in CARRIER_KINDS},
}


class OrganizationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PartnerRepository(session)

    async def create(self, data: OrganizationCreate) -> OrganizationRead:
        organization = Organization(
            name=data.name,
            kind=data.kind,
            contact_email=data.contact_email,
            service_area=to_db(data.service_area) if data.service_area else None,
            capacity_per_day=data.capacity_per_day,
        )
        await self.repo.add(organization)
        await self.session.refresh(organization)
        return organization_read(organization)

    async def get(self, organization_id: UUID, principal: Principal) -> OrganizationRead:
        """Staff see every organisation; a key only its own."""
        if not principal.is_staff and principal.organization_id != organization_id:
            raise NotFound("No such organization")
        return organization_read(await self.require(organization_id))

    async def require(self, organization_id: UUID) -> Organization:
        organization = await self.repo.organization(organization_id)
        if organization is None:
            raise NotFound("No such organization")
        return organization

    async def require_carrier(self, organization_id: UUID) -> Organization:
        """An active partner carrier, for a handover; 422 naming `organization_id` otherwise."""
        organization = await self.repo.organization(organization_id)
        if organization is None or not organization.active:
            raise Invalid("No such active organization", field="organization_id")
        if organization.kind not in CARRIER_KINDS:
            raise Invalid(
                "Shipments are handed over to carriers, not shippers",
                field="organization_id",
                code="not_a_carrier",
            )
        return organization

    async def carriers_covering(self, shipment_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
        """Per shipment, the active carriers whose service area covers its delivery point (by
        name); shipments no carrier covers are left out."""
        covering: dict[UUID, list[UUID]] = {}
        for row in await self.repo.carriers_covering(shipment_ids):
            covering.setdefault(row.shipment_id, []).append(row.organization_id)
        return covering

    async def page(self, cursor: str | None, limit: int) -> Page[OrganizationRead]:
        rows = await self.repo.organizations(decode_cursor(cursor), limit + 1)
        return page_of([organization_read(o) for o in rows], limit, lambda o: o.id)

    # keys ------------------------------------------------------------------------------------

    async def create_key(self, organization_id: UUID, data: ApiKeyCreate) -> ApiKeyCreated:
        organization = await self.require(organization_id)
        if data.expires_at is not None and data.expires_at <= utcnow():
            raise Invalid("expires_at is in the past", field="expires_at")
        key, prefix, hashed = new_key()
        scopes = sorted(set(data.scopes or DEFAULT_SCOPES[organization.kind]))
        row = ApiKey(
            organization_id=organization.id,
            prefix=prefix,
            secret_hash=hashed,
            name=data.name,
            scopes=scopes,
            expires_at=data.expires_at,
        )
        await self.repo.add(row)
        return ApiKeyCreated(
            id=row.id, key=key, prefix=prefix, scopes=scopes, expires_at=data.expires_at
        )

    async def keys(self, organization_id: UUID) -> list[ApiKeyRead]:
        await self.require(organization_id)
        return [key_read(k) for k in await self.repo.keys(organization_id)]

    async def expire_key(
        self, organization_id: UUID, key_id: UUID, data: ApiKeyUpdate
    ) -> ApiKeyRead:
        key = await self._key(organization_id, key_id)
        key.expires_at = data.expires_at
        await self.session.flush()
        return key_read(key)

    async def revoke_key(self, organization_id: UUID, key_id: UUID) -> ApiKeyRead:
        key = await self._key(organization_id, key_id)
        key.revoked_at = key.revoked_at or utcnow()
        await self.session.flush()
        return key_read(key)

    async def _key(self, organization_id: UUID, key_id: UUID) -> ApiKey:
        key = await self.repo.key(organization_id, key_id)
        if key is None:
            raise NotFound("No such API key")
        if key.revoked_at is not None:
            raise Conflict("The key is revoked", code="key_revoked")
        return key


def organization_read(organization: Organization) -> OrganizationRead:
    return OrganizationRead(
        id=organization.id,
        name=organization.name,
        kind=organization.kind,
        contact_email=organization.contact_email,
        service_area=area_from_db(organization.service_area)
        if organization.service_area is not None
        else None,
        capacity_per_day=organization.capacity_per_day,
        active=organization.active,
        created_at=organization.created_at,
    )


def key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        organization_id=key.organization_id,
        prefix=key.prefix,
        name=key.name,
        scopes=list(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )
