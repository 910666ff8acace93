"""The one source of "now", so tests can move time without touching the system clock."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
