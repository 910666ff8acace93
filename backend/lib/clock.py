"""The one source of "now", so tests can move time without touching the system clock."""

import functools
import zoneinfo
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    """An IANA zone name the zone database knows (`Europe/Berlin`, `UTC`)."""
    return name in _time_zones()
