"""Authentication middleware and role guards.

The middleware turns `Authorization: Bearer …` into `request.user` (a Principal) once the token
verifies and its subject check passes (subjects.py); handlers that anyone may call carry
`exclude_from_auth=True`. Guards check the role; object-level checks live in the services, which
answer 404 for objects the caller may not see.
"""

from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from backend.auth.schemas import Principal, Role
from backend.auth.subjects import SubjectCache, Verdict, load_verdict
from backend.auth.tokens import read_token
from backend.lib.errors import Conflict, DomainError, Forbidden, Unauthorized

# Set `opt={QUERY_TOKEN: True}` on an event-stream (SSE) handler to accept `?access_token=`:
# browsers cannot set headers on EventSource. WebSockets accept it always, for the same reason.
QUERY_TOKEN = "accepts_query_token"

# Why a verdict refuses, as (error, words); the code is the verdict's, but for an unknown subject,
# which says no more than a forged token would.
_REFUSALS: dict[Verdict, tuple[type[DomainError], str]] = {
    "unknown_subject": (Unauthorized, "Invalid or expired token"),
    "account_inactive": (Unauthorized, "This account is deactivated"),
    "token_revoked": (Unauthorized, "This session has ended; sign in again"),
    "device_released": (Unauthorized, "This device was released; sign in again"),
    "device_bound_to_other_driver": (Conflict, "This device is bound to another driver"),
}


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = _presented_token(connection)
        if not token:
            raise Unauthorized("Missing bearer token", code="missing_token")
        state = connection.app.state
        principal = read_token(token.strip(), state.settings.secret_key)
        if principal is None:
            raise Unauthorized("Invalid or expired token", code="invalid_token")
        subjects: SubjectCache = state.subjects

        async def load() -> Verdict:
            async with state.sessionmaker() as session:
                return await load_verdict(session, principal)

        verdict = await subjects.verdict(principal, load)
        if verdict != "ok":
            error, detail = _REFUSALS[verdict]
            raise error(detail, code="invalid_token" if verdict == "unknown_subject" else verdict)
        return AuthenticationResult(user=principal, auth=token)


def _presented_token(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    handler = connection.scope.get("route_handler")
    if connection.scope["type"] == "websocket" or (handler and handler.opt.get(QUERY_TOKEN)):
        return connection.query_params.get("access_token", "")
    return ""


def bearer_auth() -> DefineMiddleware:
    return DefineMiddleware(BearerTokenMiddleware, exclude=["^/schema", "^/healthz", "^/readyz"])


Guard = Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]


def requires(*roles: Role) -> Guard:
    allowed = frozenset(roles)

    # A coroutine, though it never waits: Litestar runs a plain function guard in a worker
    # thread, a hop on every request.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise Forbidden(f"This action needs one of the roles: {', '.join(sorted(allowed))}")

    return guard


staff_only = requires("admin", "dispatcher")
admin_only = requires("admin")
