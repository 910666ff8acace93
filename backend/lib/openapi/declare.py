"""What a handler declares for its OpenAPI operation, beside its docstring.

Litestar documents what it can see (parameters, a `data` body, the return type); the rest is
declared here and merged into the operation by backend/lib/openapi/finish.py:

    @post("/{route_id:uuid}/publish", opt=raises(NotFound, (Conflict, "route_published")))

- `raises(...)`: the domain errors the handler (through its service) can answer with. An entry is
  a DomainError subclass (its status and default code) or `(subclass, "code", ...)` for the codes
  it is raised with. Errors every operation of a kind can give (401/403 from its guards, 404 for a
  path id, 400/413/422 for a body, 429, 503) are derived and need no declaration.
- `raw_body(...)`: the body of a handler that reads raw bytes (Litestar sees no `data`).
- `raw_response(...)`: the success body of a handler that answers bytes it built itself.
- `examples(request=..., response=...)`: what a body and a success answer look like.

They combine with `|`: `opt=raises(Invalid) | examples(request={...})`.
"""

from __future__ import annotations

from typing import Any

from backend.lib.errors import DomainError

RAISES = "openapi_raises"
RAW_BODY = "openapi_raw_body"
RAW_RESPONSE = "openapi_raw_response"
EXAMPLES = "openapi_examples"

# A DomainError subclass, or (subclass, "code", "code", ...).
ErrorEntry = type[DomainError] | tuple[Any, ...]


def raises(*entries: ErrorEntry, **opt: Any) -> dict[str, Any]:
    """`opt=` for a handler: the (status, code) pairs it answers besides the derived ones.
    Other opt keys ride along: `raises(NotFound, max_body="blob_max_bytes")`."""
    pairs: list[tuple[int, str]] = []
    for entry in entries:
        if isinstance(entry, tuple):
            error, *codes = entry
            pairs.extend((error.status, code) for code in codes)
        else:
            pairs.append((entry.status, entry.code))
    return {**opt, RAISES: tuple(pairs)}


def raw_body(
    schema: type | None = None,
    *,
    media_types: tuple[str, ...] = ("application/json",),
    description: str = "",
    example: Any = None,
) -> dict[str, Any]:
    """The request body of a handler that reads `request.body()` or `request.stream()`:
    `schema` for JSON (a Struct documented as usual), else binary content of `media_types`."""
    return {
        RAW_BODY: {
            "schema": schema,
            "media_types": media_types,
            "description": description,
            "example": example,
        }
    }


def raw_response(
    *media_types: str, schema: type | None = None, description: str = "", status: int = 200
) -> dict[str, Any]:
    """The success body of a handler answering bytes: binary of `media_types`, or `schema`
    (for bytes that are JSON of a known shape, e.g. a stored reply)."""
    return {
        RAW_RESPONSE: {
            "schema": schema,
            "media_types": media_types,
            "description": description,
            "status": status,
        }
    }


def examples(*, request: Any = None, response: Any = None) -> dict[str, Any]:
    """A request body and a success response as they look on the wire (JSON values); a test
    checks them against the documented schemas."""
    return {EXAMPLES: {"request": request, "response": response}}


def merge(*opts: dict[str, Any]) -> dict[str, Any]:
    """Several declarations (and plain opt keys) in one `opt=`."""
    merged: dict[str, Any] = {}
    for opt in opts:
        merged.update(opt)
    return merged
