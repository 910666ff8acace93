"""Authentication middleware and role guards.

The middleware turns `Authorization: Bearer …` into `request.user` (a Principal) once the token
verifies and its subject check passes (subjects.py); handlers that anyone may call carry
`exclude_from_auth=True`. Guards check the role; object-level checks live in the services, which
answer 404 for objects the caller may not see.
"""

from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from backend.auth.schemas import Principal, Role
from backend.auth.subjects import SubjectCache, Verdict, load_verdict
from backend.auth.tokens import read_token
from backend.couriers.tokens import read_applicant_token
from backend.lib.errors import Conflict, DomainError, Forbidden, Unauthorized
from backend.partners.keys import is_api_key, principal_for_key

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
        token, state = token.strip(), connection.app.state
        if is_api_key(token):
            # Keys are looked up on every request: a revoked or expired key fails at once.
            principal = await principal_for_key(state.sessionmaker, token)
        elif (principal := read_token(token, state.settings.secret_key)) is not None:
            await _check_subject(state, principal)
        else:
            principal = read_applicant_token(
                token, state.settings.secret_key, connection.scope["path"]
            )
        if principal is None:
            raise Unauthorized("Invalid or expired token", code="invalid_token")
        return AuthenticationResult(user=principal, auth=token)


async def _check_subject(state: State, principal: Principal) -> None:
    """A signed user token still names an active account, a live session and its device."""
    subjects: SubjectCache = state.subjects

    async def load() -> Verdict:
        async with state.sessionmaker() as session:
            return await load_verdict(session, principal)

    verdict = await subjects.verdict(principal, load)
    if verdict != "ok":
        error, detail = _REFUSALS[verdict]
        raise error(detail, code="invalid_token" if verdict == "unknown_subject" else verdict)


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
        if connection.scope.get("method") == "OPTIONS":
            # Litestar's own OPTIONS answer (the Allow header) reveals nothing, and the
            # authentication middleware skips OPTIONS, so there is no user to check.
            return
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise Forbidden(f"This action needs one of the roles: {', '.join(sorted(allowed))}")

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the OpenAPI (backend/lib/openapi)
    return guard


def requires_scope(scope: str) -> Guard:
    """An API key must carry `scope`; user tokens are governed by their role alone."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # as in `requires`: no user is authenticated for OPTIONS
        principal: Principal = connection.user
        if principal.organization_id and scope not in principal.scopes:
            raise Forbidden(f"This API key lacks the scope {scope}", code="missing_scope")

    guard.scope = scope  # type: ignore[attr-defined]  # read by the OpenAPI (backend/lib/openapi)
    return guard


staff_only = requires("admin", "dispatcher")
admin_only = requires("admin")
