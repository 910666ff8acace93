"""Times on the page, in the hub's time zone, and the range a delivery is expected in. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.shipments.schemas import Window

STEP = timedelta(minutes=5)
BASE_MARGIN = timedelta(minutes=10)
MARGIN_PER_STOP = timedelta(minutes=2)
MAX_MARGIN = timedelta(minutes=45)


def zone_of(name: str | None) -> ZoneInfo:
    """The hub's zone; UTC if the name is unknown to this machine's tz database."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Clock:
    zone: ZoneInfo

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def time(self, moment: datetime) -> str:
        """`14:05 CET`: the abbreviation says which clock without a lesson in zones."""
        local = self.local(moment)
        return f"{local:%H:%M} {local.tzname()}"

    def bare(self, moment: datetime) -> str:
        return f"{self.local(moment):%H:%M}"

    def day(self, moment: datetime) -> str:
        return f"{self.local(moment):%a %d %b}"

    def stamp(self, moment: datetime) -> str:
        local = self.local(moment)
        return f"{local:%d %b, %H:%M} {local.tzname()}"

    def span(self, start: datetime, end: datetime) -> str:
        """`14:20 to 14:50 CET`, or with the zone twice when a clock change falls in between."""
        a, b = self.local(start), self.local(end)
        if a.tzname() == b.tzname():
            return f"{a:%H:%M} to {b:%H:%M} {b.tzname()}"
        return f"{self.time(start)} to {self.time(end)}"


def expected_range(eta: datetime, stops_before: int | None) -> tuple[datetime, datetime]:
    """Around the ETA, wider the more stops come first (each may take longer than planned):
    ±(10 min + 2 min a stop), at most ±45 min, widened outwards to whole 5 minutes."""
    margin = min(BASE_MARGIN + MARGIN_PER_STOP * (stops_before or 0), MAX_MARGIN)
    return _floor(eta - margin), _ceil(eta + margin)


def running_late(eta: datetime | None, window: Window | None) -> bool:
    return eta is not None and window is not None and eta > window.end


def _floor(moment: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return moment - (moment - epoch) % STEP


def _ceil(moment: datetime) -> datetime:
    floored = _floor(moment)
    return floored if floored == moment else floored + STEP
