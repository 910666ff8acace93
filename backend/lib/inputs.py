"""The checks every request's input passes before a handler sees it, one place per kind.

- JSON bodies and forms: `CheckedRequest`, the app's request class, so every `JSONBody[...]`
  parameter (and `request.json()`, `request.form()`): no NUL in any key or string, at most
  `MAX_JSON_DEPTH` levels, and a body the decoder cannot descend is refused, not a 500.
- Bodies a handler reads raw (push, pings): `decode_body` in `backend.lib.errors`, with the same
  NUL check; their schemas bound the depth, except the push's events, which the push validates
  one by one so that one bad event never fails its batch.
- Path, query and header values: `RejectNulMiddleware`, after routing (path parameters known).

See docs/input-validation.md.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.serialization import decode_json as litestar_decode_json
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.lib.errors import not_utf8, nul_refused, too_deep
from backend.lib.jsonchecks import NUL, nul_field, printable, too_deep_field


def decode_json(body: bytes) -> Any:
    """A JSON body as plain values, checked. Malformed JSON raises Litestar's
    `SerializationException` (answered 400), as without these checks."""
    try:
        value = litestar_decode_json(body or b"null")
    except RecursionError:
        raise too_deep("body") from None
    except UnicodeDecodeError:
        raise not_utf8() from None
    if (field := nul_field(body, value)) is not None:
        raise nul_refused(field)
    if (field := too_deep_field(body, value)) is not None:
        raise too_deep(field)
    return value


class CheckedRequest(Request):
    """The app's request class: JSON bodies and forms pass the checks above when read."""

    _checked_json: Any

    async def json(self) -> Any:
        if not hasattr(self, "_checked_json"):
            self._checked_json = decode_json(await self.body())
        return self._checked_json

    async def form(self) -> FormMultiDict:
        form = await super().form()
        for key, value in form.multi_items():
            if NUL in key or (isinstance(value, str) and NUL in value):
                raise nul_refused(printable(key) or "form")
        return form


class RejectNulMiddleware:
    """Refuses a NUL in any path parameter, query parameter or header value (HTTP and WebSocket),
    naming it. Runs after routing, so path parameters are known by name."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (field := _nul_parameter(scope)):
            raise nul_refused(field)
        await self.app(scope, receive, send)


def _nul_parameter(scope: Scope) -> str | None:
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, str) and NUL in value:
            return name
    query = scope.get("query_string") or b""
    if b"%00" in query or b"\x00" in query:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if NUL in key or NUL in value:
                return printable(key) or "query"
    for name, value in scope["headers"]:
        if b"\x00" in value:
            return name.decode("latin-1")
    return None
