from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.auth.guards import admin_only, requires
from backend.auth.schemas import (
    PasswordChange,
    Principal,
    RefreshRequest,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserRead,
)
from backend.auth.service import AccountService, TokenService
from backend.auth.sessions import RefreshReused
from backend.auth.users import UserService
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid, RateLimited, Unauthorized, problem
from backend.lib.openapi import examples, raises, samples
from backend.limits.limiter import RateLimiter
from backend.limits.sign_in import sign_in_attempt

USERS_ONLY = requires("admin", "dispatcher", "driver", "partner")


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/token",
        exclude_from_auth=True,
        status_code=200,
        opt=raises(
            (Unauthorized, "bad_credentials", "account_inactive", "device_released"),
            (Conflict, "device_bound_to_other_driver"),
            RateLimited,
            max_body="sign_in_max_body_bytes",
        )
        | examples(request=samples.TOKEN_REQUEST, response=samples.TOKEN_RESPONSE),
    )
    async def token(
        self,
        data: JSONBody[TokenRequest],
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        limiter: NamedDependency[RateLimiter],
    ) -> TokenResponse:
        """Sign in: an access token and a refresh token.

        Exchange email and password (and, for a handheld, its device id) for a short-lived
        access token and a refresh token. A device id is bound to the first driver who signs in
        on it: another driver gets 409 `device_bound_to_other_driver`. Attempts are rate limited
        per account and per address (429 with Retry-After)."""
        address = request.client.host if request.client else "unknown"
        async with sign_in_attempt(limiter, address, data.email):
            return await TokenService(db_session, settings).issue(data)

    @post(
        "/refresh",
        exclude_from_auth=True,
        status_code=200,
        opt=raises(
            (
                Unauthorized,
                "invalid_refresh_token",
                "refresh_expired",
                "refresh_token_reused",
                "token_revoked",
                "account_inactive",
            )
        ),
    )
    async def refresh(
        self,
        data: JSONBody[RefreshRequest],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> TokenResponse | Response[dict[str, Any]]:
        """Exchange a refresh token for a new access token and the next refresh token; the one
        presented stops working. Presenting it again ends the whole session (401
        `refresh_token_reused`)."""
        try:
            return await TokenService(db_session, settings).refresh(data.refresh_token)
        except RefreshReused:
            # Answered, not raised: the revocation must commit.
            return problem(
                401,
                "This refresh token was already used; the session is ended. Sign in again",
                code="refresh_token_reused",
            )

    # Sessions belong to user accounts: an organisation's API key has none to end, nor a password.
    @post("/logout", status_code=204, guards=[USERS_ONLY])
    async def logout(
        self,
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> None:
        """End this session: its access and refresh tokens stop working."""
        await TokenService(db_session, settings).logout(request.user)

    @post(
        "/password",
        status_code=204,
        guards=[USERS_ONLY],
        opt=raises(
            (
                Invalid,
                "wrong_password",
                "password_unchanged",
                "password_too_short",
                "password_too_common",
                "password_is_email",
            )
        ),
    )
    async def change_password(
        self,
        data: JSONBody[PasswordChange],
        request: Request[Principal, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> None:
        """Change your own password; every other session of the account ends."""
        await TokenService(db_session, settings).change_password(request.user, data)


class UserController(Controller):
    path = "/v1/users"
    tags = ["auth"]
    guards = [admin_only]

    @post(
        opt=raises(
            (Conflict, "email_taken"),
            (Invalid, "password_too_short", "password_too_common", "password_is_email"),
        )
    )
    async def create(self, data: JSONBody[UserCreate], db_session: DbSession) -> UserRead:
        """Create an admin, dispatcher or partner account (drivers come from /v1/drivers)."""
        user = await UserService(db_session).create(data.email, data.password, data.role)
        return UserRead(id=user.id, email=user.email, role=user.role, active=user.active)  # type: ignore[arg-type]

    @post(
        "/{user_id:uuid}/deactivate",
        status_code=200,
        opt=raises((Conflict, "cannot_deactivate_self")),
    )
    async def deactivate(
        self,
        user_id: FromPath[UUID],
        request: Request[Principal, Any, Any],
        db_session: DbSession,
    ) -> UserRead:
        """Deactivate any account (a driver's too): no sign-in, and its tokens stop at once."""
        return await AccountService(db_session).set_active(user_id, False, request.user)

    @post("/{user_id:uuid}/activate", status_code=200)
    async def activate(
        self,
        user_id: FromPath[UUID],
        request: Request[Principal, Any, Any],
        db_session: DbSession,
    ) -> UserRead:
        """Reactivate an account: it may sign in again."""
        return await AccountService(db_session).set_active(user_id, True, request.user)
