"""Refusing nonsense that is well-formed: dates no delivery business has (year 1, year 9999)
and delivery windows thousands of years long. The bounds are settings
(`LASTMILE_PLAUSIBLE_DAYS`, `LASTMILE_MAX_WINDOW_HOURS`), measured from the server's today."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from backend.config import Settings
from backend.lib.clock import utcnow
from backend.lib.errors import Invalid


class TimeSpan(Protocol):
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Plausible:
    days: int
    max_window: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Plausible:
        return cls(settings.plausible_days, dt.timedelta(hours=settings.max_window_hours))

    def date_problem(self, day: dt.date) -> str | None:
        earliest, latest = self._bounds()
        if not earliest <= day <= latest:
            return self._range_text(earliest, latest)
        return None

    def window_problem(self, window: TimeSpan | None) -> str | None:
        if window is None:
            return None
        if window.end - window.start > self.max_window:
            hours = int(self.max_window.total_seconds() // 3600)
            return f"a window may span at most {hours} hours"
        earliest, latest = self._bounds()
        # Aware datetimes compare without conversion, so year 1 at +14:00 cannot overflow.
        low = dt.datetime.combine(earliest, dt.time.min, dt.UTC)
        high = dt.datetime.combine(latest, dt.time.max, dt.UTC)
        if not (low <= window.start and window.end <= high):
            return self._range_text(earliest, latest)
        return None

    def _bounds(self) -> tuple[dt.date, dt.date]:
        today = utcnow().date()
        return today - dt.timedelta(days=self.days), today + dt.timedelta(days=self.days)

    def _range_text(self, earliest: dt.date, latest: dt.date) -> str:
        return f"must lie between {earliest} and {latest} ({self.days} days around today)"

    def check_date(self, day: dt.date, field: str) -> None:
        if problem := self.date_problem(day):
            raise Invalid(f"{field} {problem}", field=field, code="implausible_date")

    def check_window(self, window: TimeSpan | None, field: str = "window") -> None:
        if problem := self.window_problem(window):
            raise Invalid(f"{field}: {problem}", field=field, code="implausible_window")
