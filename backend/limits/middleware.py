"""Limits every request meets before its handler: its body size, and its account's rate.

Body limits are per route: a handler names the setting holding its limit in its `opt`
(`opt={"max_body": "sync_max_bytes"}`); a handler anyone may call without signing in gets
`LASTMILE_ANONYMOUS_MAX_BODY_BYTES`; every other one `LASTMILE_MAX_BODY_BYTES`. A declared
`Content-Length` over the limit is refused before a byte is read; a body without one is
counted as it arrives and refused as soon as it passes the limit.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.auth.schemas import Principal
from backend.config import Settings
from backend.lib.errors import PayloadTooLarge
from backend.limits.limiter import RateLimiter


def body_limit(handler: BaseRouteHandler, settings: Settings) -> int:
    if named := handler.opt.get("max_body"):
        return int(getattr(settings, named))
    if handler.opt.get("exclude_from_auth"):
        return settings.anonymous_max_body_bytes
    return settings.max_body_bytes


def largest_body_limit(settings: Settings) -> int:
    """Litestar's own check, kept as a backstop above every per-route limit."""
    return max(
        settings.max_body_bytes,
        settings.bulk_max_bytes,
        settings.sync_max_bytes,
        settings.blob_max_bytes,
        settings.anonymous_max_body_bytes,
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits: dict[int, int] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope["route_handler"]
        limit = self.limits.get(id(handler))
        if limit is None:
            limit = self.limits[id(handler)] = body_limit(handler, self.settings)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"This endpoint takes bodies of at most {limit} bytes")
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"This endpoint takes bodies of at most {limit} bytes")
            return message

        await next_app(scope, counted, send)


def subject_of(principal: Principal) -> str:
    """Whose budget a signed-in request spends: its account's, shared by all of its tokens, so
    signing in again does not refill it."""
    return f"account:{principal.user_id}"


class AccountRateLimitMiddleware(ASGIMiddleware):
    """`LASTMILE_RATE_LIMIT_ACCOUNT` on every signed-in HTTP request (after authentication;
    requests without sign-in have their own rules at their handlers)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = scope.get("user")
        if isinstance(principal, Principal) and self.limiter.enabled("account"):
            await self.limiter.enforce("account", subject_of(principal))
        await next_app(scope, receive, send)
