"""Authentication middleware and role guards.

The middleware turns `Authorization: Bearer …` into `request.user` (a Principal); handlers that
anyone may call carry `exclude_from_auth=True`. Guards check the role; object-level checks live in
the services, which answer 404 for objects the caller may not see.
"""

from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from backend.auth.schemas import Principal, Role
from backend.auth.tokens import read_token
from backend.couriers.tokens import read_applicant_token
from backend.lib.errors import Forbidden, Unauthorized
from backend.partners.keys import is_api_key, principal_for_key


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            # Browsers cannot set headers on WebSocket/EventSource: accept ?access_token= there.
            token = connection.query_params.get("access_token", "")
        if not token:
            raise Unauthorized("Missing bearer token", code="missing_token")
        token, secret_key = token.strip(), connection.app.state.settings.secret_key
        if is_api_key(token):
            principal = await principal_for_key(connection.app.state.sessionmaker, token)
        else:
            principal = read_token(token, secret_key) or read_applicant_token(
                token, secret_key, connection.scope["path"]
            )
        if principal is None:
            raise Unauthorized("Invalid or expired token", code="invalid_token")
        return AuthenticationResult(user=principal, auth=token)


def bearer_auth() -> DefineMiddleware:
    return DefineMiddleware(BearerTokenMiddleware, exclude=["^/schema", "^/healthz", "^/readyz"])


Guard = Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]


def requires(*roles: Role) -> Guard:
    allowed = frozenset(roles)

    # A coroutine, though it never waits: Litestar runs a plain function guard in a worker
    # thread, a hop on every request.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            # Litestar's own OPTIONS answer (the Allow header) reveals nothing, and the
            # authentication middleware skips OPTIONS, so there is no user to check.
            return
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise Forbidden(f"This action needs one of the roles: {', '.join(sorted(allowed))}")

    return guard


def requires_scope(scope: str) -> Guard:
    """An API key must carry `scope`; user tokens are governed by their role alone."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.organization_id and scope not in principal.scopes:
            raise Forbidden(f"This API key lacks the scope {scope}", code="missing_scope")

    return guard


staff_only = requires("admin", "dispatcher")
admin_only = requires("admin")
