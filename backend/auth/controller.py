from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from backend.auth.guards import admin_only
from backend.auth.schemas import TokenRequest, TokenResponse, UserCreate, UserRead
from backend.auth.service import TokenService
from backend.auth.users import UserService
from backend.config import Settings
from backend.db.session import DbSession
from backend.limits.limiter import RateLimiter
from backend.limits.sign_in import sign_in_attempt


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/token",
        exclude_from_auth=True,
        status_code=200,
        opt={"max_body": "sign_in_max_body_bytes"},
    )
    async def token(
        self,
        data: JSONBody[TokenRequest],
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        limiter: NamedDependency[RateLimiter],
    ) -> TokenResponse:
        """Exchange email and password (and, for a handheld, its device id) for a bearer token.
        Attempts are rate limited per account and per address (429 with Retry-After)."""
        address = request.client.host if request.client else "unknown"
        async with sign_in_attempt(limiter, address, data.email):
            return await TokenService(db_session, settings).issue(data)


class UserController(Controller):
    path = "/v1/users"
    tags = ["auth"]
    guards = [admin_only]

    @post()
    async def create(self, data: JSONBody[UserCreate], db_session: DbSession) -> UserRead:
        """Create an admin, dispatcher or partner account (drivers come from /v1/drivers)."""
        user = await UserService(db_session).create(data.email, data.password, data.role)
        return UserRead(id=user.id, email=user.email, role=user.role, active=user.active)  # type: ignore[arg-type]
