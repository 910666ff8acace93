"""Domain errors and their one rendering: RFC 9457 `application/problem+json`.

Services raise `DomainError` subclasses (they never import Litestar); the handlers below turn
those, Litestar's own HTTP errors and anything unexpected into problem documents. Validation
problems name the field in `errors: [{field, message}]`.

Transient faults (the database unreachable or its connection lost, a deadlock, a serialization
failure, a full or unwritable blob store) are not bugs: they answer 503 with `Retry-After`, and
the ones that certainly left nothing behind are first retried inside the server
(backend/lib/retry.py). See docs/faults.md.
"""

from __future__ import annotations

import logging
import math
import re
import socket
from collections.abc import Collection
from http import HTTPStatus
from typing import Any, TypeVar

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError

from backend.lib.jsonchecks import MAX_JSON_DEPTH, nul_field

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("lastmile.errors")


class DomainError(Exception):
    status = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.code
        self.errors = errors


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class PayloadTooLarge(DomainError):
    """A body past one of the documented limits (bytes, events, pings)."""

    status = 413
    code = "payload_too_large"


class RateLimited(DomainError):
    """Over a rate limit or a connection cap: 429, and `Retry-After` in whole seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}


class ServiceBusy(RateLimited):
    """This process is at capacity (not the caller's fault): 503 with `Retry-After`."""

    status = 503
    code = "service_busy"


class Unavailable(DomainError):
    """A fault that passes (storage full or read-only, a dependency down): 503 + Retry-After."""

    status = 503
    code = "unavailable"
    retry_after = 5

    @property
    def headers(self) -> dict[str, str]:  # type: ignore[override]
        return {"Retry-After": str(self.retry_after)}


class Invalid(DomainError):
    """Well-formed input that breaks a rule; `field` names the culprit."""

    status = 422
    code = "invalid"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        errors = [{"field": field, "message": detail}] if field else None
        super().__init__(detail, code=code, errors=errors)


T = TypeVar("T")


def decode_body(body: bytes, into: type[T], *, unchecked: Collection[str] = ()) -> T:
    """A JSON body as `into`: 400 if it is not JSON, 422 naming the field if it is not that
    shape or carries a NUL (for handlers that read the raw body to check limits first).
    Top-level fields in `unchecked` are validated by the caller item by item."""
    try:
        value = msgspec.json.decode(body, type=into)
    except msgspec.ValidationError as exc:
        field, text = describe_validation(str(exc))
        raise Invalid(f"{field}: {text}", field=field) from None
    except msgspec.DecodeError:
        raise DomainError("The body is not valid JSON", code="malformed_json") from None
    except RecursionError:
        raise too_deep("body") from None
    except UnicodeDecodeError:
        raise not_utf8() from None
    if (field := nul_field(body, value, unchecked)) is not None:
        raise nul_refused(field)
    return value


def nul_refused(field: str) -> Invalid:
    """PostgreSQL text cannot hold U+0000: refused at the edge, never a failed query."""
    return Invalid(
        f"{field}: text may not contain NUL (U+0000) characters", field=field, code="nul_character"
    )


def not_utf8() -> DomainError:
    """msgspec raises UnicodeDecodeError (not DecodeError) for bad bytes inside a string."""
    detail = "body: JSON text must be UTF-8"
    return DomainError(detail, code="malformed_json", errors=[{"field": "body", "message": detail}])


def too_deep(field: str) -> Invalid:
    return Invalid(
        f"{field}: JSON may be nested at most {MAX_JSON_DEPTH} levels deep",
        field=field,
        code="too_deeply_nested",
    )


def problem(
    status: int,
    detail: str,
    *,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = problem_document(status, detail, code=code)
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_document(status: int, detail: str, *, code: str) -> dict[str, Any]:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return {
        "type": f"https://lastmile.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }


def _domain_error(_: Request, exc: DomainError) -> Response[dict[str, Any]]:
    if isinstance(exc, Unavailable):
        log.warning("unavailable: %s", exc.detail)
    return problem(exc.status, exc.detail, code=exc.code, errors=exc.errors, headers=exc.headers)


def _validation_error(_: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    errors = [
        {"field": _field_name(item), "message": item.get("message", "invalid value")}
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    detail = errors[0]["message"] if len(errors) == 1 else exc.detail or "Invalid request"
    if len(errors) == 1 and errors[0]["field"]:
        detail = f"{errors[0]['field']}: {detail}"
    return problem(422 if errors else 400, detail, code="validation_error", errors=errors or None)


def _field_name(item: dict[str, Any]) -> str:
    """msgspec reports `$.location.coordinates[0]`; clients want `location.coordinates[0]`."""
    key = str(item.get("key") or "")
    message = str(item.get("message") or "")
    if not key and " - at `$." in message:
        key = message.rpartition(" - at `$.")[2].rstrip("`")
    return key.removeprefix("$.").removeprefix("$") or "body"


def describe_validation(message: str) -> tuple[str, str]:
    """(field, message) from msgspec's `Expected int - at `$.a.b`` style messages."""
    text, found, path = message.rpartition(" - at `$")
    if not found:
        text, path = message, ""
    field = path.rstrip("`").removeprefix(".")
    if missing := _MISSING.match(text):
        field = ".".join(part for part in (field, missing.group(1)) if part)
    return field or "body", text


_MISSING = re.compile(r"Object missing required field `([^`]+)`")


def _http_error(_: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    code = {
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        429: "rate_limited",
    }.get(exc.status_code, "http_error")
    return problem(exc.status_code, exc.detail, code=code, headers=exc.headers)


# Transient faults -------------------------------------------------------------------------------

DEADLOCK = "deadlock"
SERIALIZATION_FAILURE = "serialization_failure"
DATABASE_UNAVAILABLE = "database_unavailable"
# Rolled back by the server, whatever the request did: safe to run again inside the server.
ROLLED_BACK = frozenset({DEADLOCK, SERIALIZATION_FAILURE})
RETRY_MARKER = "x-lastmile-retry"  # set on a 503 the retry middleware may replay; never sent
COMMIT_FAILED = "_lastmile_commit_failed"  # set on an exception raised by COMMIT
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")
_CLOSED_MESSAGES = ("connection is closed", "connection was closed", "underlying connection")
_TRANSIENT_DETAIL = {
    DEADLOCK: "The change lost a lock race with another; nothing was saved. Send it again.",
    SERIALIZATION_FAILURE: "The change raced another; nothing was saved. Send it again.",
    DATABASE_UNAVAILABLE: "The database is unavailable for a moment. Send the request again.",
}
RETRY_AFTER_SECONDS = {DEADLOCK: 1, SERIALIZATION_FAILURE: 1, DATABASE_UNAVAILABLE: 5}


def transient_fault(exc: BaseException) -> str | None:
    """DEADLOCK, SERIALIZATION_FAILURE or DATABASE_UNAVAILABLE when `exc` (or what it wraps) is
    one, else None. Reads SQLSTATEs, so the ORM's wrapped errors and raw asyncpg ones agree."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup):  # cleanups of several dependencies
            return next(filter(None, map(transient_fault, current.exceptions)), None)
        if kind := _fault_of(current):
            return kind
        current = getattr(current, "orig", None) or current.__cause__
    return None


def _fault_of(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str):
        if state == "40P01":
            return DEADLOCK
        if state == "40001":
            return SERIALIZATION_FAILURE
        if state.startswith(_UNAVAILABLE_SQLSTATES):
            return DATABASE_UNAVAILABLE
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DATABASE_UNAVAILABLE
    if isinstance(
        exc, asyncpg.ConnectionDoesNotExistError | asyncpg.exceptions.InternalClientError
    ):
        return DATABASE_UNAVAILABLE
    if isinstance(exc, asyncpg.InterfaceError | DBAPIError) and any(
        text in str(exc) for text in _CLOSED_MESSAGES
    ):
        return DATABASE_UNAVAILABLE
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError):
        return DATABASE_UNAVAILABLE
    return None


def _transient(request: Request, exc: BaseException, kind: str) -> Response[dict[str, Any]]:
    log.warning(
        "%s on %s %s: %s",
        kind,
        request.method,
        request.url.path,
        f"{type(exc).__name__}: {exc}"[:300],
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS[kind])}
    # Rolled back for sure: a deadlock or serialization failure, or a lost connection before
    # COMMIT was sent (the server rolls back an open transaction whose connection is gone).
    if kind in ROLLED_BACK or not getattr(exc, COMMIT_FAILED, False):
        headers[RETRY_MARKER] = "1"
    return problem(503, _TRANSIENT_DETAIL[kind], code=kind, headers=headers)


def _database_error(request: Request, exc: DBAPIError) -> Response[dict[str, Any]]:
    if kind := transient_fault(exc):
        return _transient(request, exc, kind)
    log.exception("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500, "The database refused the change; nothing was saved.", code="database_error"
    )


def _unexpected(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    if kind := transient_fault(exc):
        return _transient(request, exc, kind)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal server error", code="internal_error")


exception_handlers: dict[Any, Any] = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    DBAPIError: _database_error,
    Exception: _unexpected,
}

__all__ = [
    "PROBLEM_JSON",
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "RateLimited",
    "ServiceBusy",
    "Unauthorized",
    "Unavailable",
    "exception_handlers",
    "problem",
]
