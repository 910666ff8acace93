"""The problem+json document as the OpenAPI describes it, and the errors derived per operation.

`ProblemDetails` mirrors what backend/lib/errors.py renders; a test renders real errors and
checks them against it. The derived errors are the ones an operation gets from what it is made
of (its guards, path, query and body), so that handlers declare only their own.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from backend.auth.guards import _REFUSALS
from backend.lib.errors import (
    DATABASE_UNAVAILABLE,
    DEADLOCK,
    SERIALIZATION_FAILURE,
    problem_document,
)


class ProblemFieldError(msgspec.Struct):
    """One input problem: the field (a dotted path, `body` for the whole body) and what is wrong.
    Batch endpoints add `index` (the item's position) and may add other keys."""

    field: Annotated[str, Meta(description="The field, e.g. `location.coordinates[0]`")]
    message: Annotated[str, Meta(description="What is wrong with it, in words")]


class ProblemDetails(msgspec.Struct):
    """An error, as RFC 9457 `application/problem+json`. Branch on `code` (stable, snake_case);
    `detail` is for people and may change."""

    type: Annotated[
        str,
        Meta(
            description="A URI naming the kind of problem: `code` with dashes",
            examples=["https://lastmile.dev/problems/not-found"],
        ),
    ]
    title: Annotated[str, Meta(description="The HTTP status phrase", examples=["Not Found"])]
    status: Annotated[int, Meta(ge=400, le=599, description="The HTTP status, repeated")]
    detail: Annotated[str, Meta(description="What went wrong, for people")]
    code: Annotated[
        str,
        Meta(
            description="The machine-readable reason; each operation lists the codes it may give",
            examples=["not_found"],
        ),
    ]
    errors: (
        Annotated[
            list[ProblemFieldError],
            Meta(description="Input problems, each naming its field (validation errors only)"),
        ]
        | UnsetType
    ) = UNSET


# (status, code) pairs, by what brings them.
AUTHENTICATION = (
    (401, "missing_token"),
    (401, "invalid_token"),
    *sorted(
        {(error.status, verdict) for verdict, (error, _) in _REFUSALS.items()}
        - {(401, "unknown_subject")}
    ),
)
ROLE_GUARD = ((403, "forbidden"),)
SCOPE_GUARD = ((403, "missing_scope"),)
PATH_OBJECT = ((404, "not_found"),)
# A required query parameter left out is 400; a value of the wrong shape 422.
QUERY = ((400, "validation_error"), (422, "validation_error"), (422, "nul_character"))
CURSOR = ((422, "bad_cursor"),)
# Bad JSON in a body Litestar decodes is its own 400 (`http_error`; bytes that are not UTF-8 are
# `malformed_json`); a body the handler decodes (raw_body) is always `malformed_json`.
JSON_BODY = (
    (400, "http_error"),
    (400, "malformed_json"),
    (413, "payload_too_large"),
    (422, "validation_error"),
    (422, "nul_character"),
    (422, "too_deeply_nested"),
)
# decode_body names the field of a body of the wrong shape with `invalid`.
RAW_JSON_BODY = (*JSON_BODY[1:], (422, "invalid"))
BINARY_BODY = ((413, "payload_too_large"),)
RATE_LIMIT = ((429, "rate_limited"),)
ALWAYS = (
    (500, "internal_error"),
    (500, "database_error"),
    (503, DATABASE_UNAVAILABLE),
    (503, DEADLOCK),
    (503, SERIALIZATION_FAILURE),
)

_MEANING = {
    400: "The request cannot be read (not JSON, bad framing).",
    401: "No credentials, or credentials that are invalid, expired or revoked.",
    403: "The caller's role or API key scope does not allow this.",
    404: "No such object, or one the caller may not see (never a hint which).",
    409: "The object's state does not allow this now.",
    410: "Gone: the object existed and is no more.",
    413: "The body is larger than this operation's documented limit.",
    415: "The body's media type is not one this operation takes.",
    422: "Well-formed input that breaks a rule; `errors` names the field.",
    429: "Over a rate limit or a connection cap; wait `Retry-After` seconds.",
    500: "A bug: please report it with the response's `x-request-id`.",
    503: "A passing fault (database, storage, capacity); send again after `Retry-After`.",
}


def describe_status(status: int, codes: list[str]) -> str:
    meaning = _MEANING.get(status) or HTTPStatus(status).phrase
    return f"{meaning} Codes: {', '.join(f'`{code}`' for code in codes)}."


def example_problem(status: int, code: str) -> dict[str, Any]:
    """A document as backend/lib/errors.py renders it for (status, code)."""
    document = problem_document(
        status, _EXAMPLE_DETAIL.get(code, code.replace("_", " ")), code=code
    )
    if status == 422:
        document["errors"] = [{"field": "body", "message": document["detail"]}]
    return document


_EXAMPLE_DETAIL = {
    "not_found": "Shipment not found",
    "missing_token": "Missing bearer token",
    "invalid_token": "Invalid or expired token",
    "forbidden": "This action needs one of the roles: admin, dispatcher",
    "validation_error": "Expected `int`, got `str`",
    "rate_limited": "Too many requests; slow down",
    "internal_error": "Internal server error",
}
