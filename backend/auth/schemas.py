from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

Role = Literal["admin", "dispatcher", "driver", "partner", "applicant", "shipper", "carrier"]
# Organisations' API keys act as "shipper" or "carrier" (backend/partners/keys.py).
ORGANIZATION_ROLES = ("shipper", "carrier")
Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
# A new password: at least MIN_PASSWORD_LENGTH characters and not a common one (passwords.py).
Password = Annotated[str, Meta(min_length=10, max_length=200, pattern=r"^[^\x00]*$")]
RefreshTokenText = Annotated[str, Meta(min_length=1, max_length=200)]
# A handheld's own id: any printable text (no control characters, which no store keeps).
DEVICE_ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
DeviceId = Annotated[str, Meta(min_length=1, max_length=128, pattern=DEVICE_ID_PATTERN)]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=200)]
    device_id: DeviceId | None = None


class TokenResponse(msgspec.Struct):
    """`access_token` lives `expires_in` seconds; `refresh_token` (once) gets the next pair."""

    access_token: str
    expires_in: int
    role: Role
    refresh_token: str
    refresh_expires_in: int
    token_type: str = "bearer"


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: RefreshTokenText


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, Meta(min_length=1, max_length=200)]
    new_password: Password


class Principal(msgspec.Struct, frozen=True):
    """Who is calling, as the signed token says. `driver_id`/`device_id` only for drivers;
    `organization_id` and `scopes` only for an organisation's API key (then `user_id` is the
    key's id); for an applicant (backend/couriers/tokens.py) `user_id` is their application's id.
    `session_id` is the sign-in a user token belongs to (revoking it ends the token)."""

    user_id: UUID
    role: Role
    driver_id: UUID | None = None
    device_id: str | None = None
    session_id: UUID | None = None
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
