"""Keyset pagination over UUIDv7 ids: `?limit=&cursor=` -> `{items, next_cursor}`.

The cursor is the last id of the page, opaque to clients (url-safe base64).
"""

import base64
import binascii
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import msgspec
from litestar.params import Parameter

from backend.lib.errors import Invalid

T = TypeVar("T")

DEFAULT_LIMIT = 50
Limit = Annotated[int, Parameter(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Parameter(description="next_cursor of the page before")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> UUID | None:
    if not cursor:
        return None
    try:
        return UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise Invalid("Not a cursor this API gave out", field="cursor", code="bad_cursor") from None


def page_of(items: list[T], limit: int, id_of: Callable[[T], UUID]) -> Page[T]:
    """Build a page from `limit + 1` fetched items."""
    has_more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(id_of(items[-1])) if has_more else None)
