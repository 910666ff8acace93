from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

Role = Literal["admin", "dispatcher", "driver", "partner", "applicant", "shipper", "carrier"]
# Organisations' API keys act as "shipper" or "carrier" (backend/partners/keys.py).
ORGANIZATION_ROLES = ("shipper", "carrier")
Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Meta(min_length=8, max_length=200)]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=200)]
    device_id: Annotated[str, Meta(min_length=1, max_length=128)] | None = None


class TokenResponse(msgspec.Struct):
    access_token: str
    expires_in: int
    role: Role
    token_type: str = "bearer"


class Principal(msgspec.Struct, frozen=True):
    """Who is calling, as the signed token says. `driver_id`/`device_id` only for drivers;
    `organization_id` and `scopes` only for an organisation's API key (then `user_id` is the
    key's id); for an applicant (backend/couriers/tokens.py) `user_id` is their application's id."""

    user_id: UUID
    role: Role
    driver_id: UUID | None = None
    device_id: str | None = None
    organization_id: UUID | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def actor_id(self) -> UUID | None:
        """The user to record as the author of a change: none for an API key or an applicant."""
        return None if self.organization_id or self.role == "applicant" else self.user_id

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "dispatcher")


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    role: Literal["admin", "dispatcher", "partner"]


class UserRead(msgspec.Struct):
    id: UUID
    email: str
    role: Role
    active: bool
