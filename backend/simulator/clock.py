"""A handheld's sense of time: a wall clock that may be wrong, and a monotonic clock that is not.

The device stamps every event with its wall clock (`occurred_at`) and with `clock`: the boot id,
the monotonic milliseconds since boot, and the anchor it last got from the server (the
`server_time` of its latest push or pull, paired with the monotonic reading when the answer
came). From those fields alone the device knows the effective time the server will compute.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# The server clamps times more than this far past receipt (and flags them clock_suspect).
FUTURE_TOLERANCE = timedelta(minutes=2)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class Anchor:
    boot_id: str
    mono_ms: int
    server_time: str  # exactly as the server wrote it

    def as_json(self) -> dict[str, Any]:
        return {"boot_id": self.boot_id, "mono_ms": self.mono_ms, "server_time": self.server_time}


@dataclass(frozen=True, slots=True)
class Stamp:
    """What goes on an event, and the effective time the server should derive from it."""

    occurred_at: str
    clock: dict[str, Any]
    effective_at: datetime | None  # None: clamped to the (unknown) moment of receipt
    anchored: bool


@dataclass
class DeviceClock:
    skew: timedelta = timedelta(0)
    boot_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    uptime_ms: int = 3_600_000  # monotonic reading at the moment this boot started counting
    anchor: Anchor | None = None
    reboots: int = 0
    _boot_started: float = field(default_factory=time.monotonic)

    def mono_ms(self) -> int:
        return self.uptime_ms + int((time.monotonic() - self._boot_started) * 1000)

    def wall(self) -> datetime:
        return datetime.now(UTC) + self.skew

    def reboot(self, uptime_ms: int = 0) -> None:
        """A new boot: the monotonic clock restarts and the old anchor no longer applies."""
        self.boot_id = uuid.uuid4().hex[:16]
        self.uptime_ms = uptime_ms
        self._boot_started = time.monotonic()
        self.reboots += 1

    def synced(self, server_time: str) -> None:
        """Anchor to an answer's `server_time`, taken as happening now (it happened a little
        earlier, so derived times err early, never into the future)."""
        self.anchor = Anchor(self.boot_id, self.mono_ms(), server_time)

    @property
    def anchored(self) -> bool:
        return self.anchor is not None and self.anchor.boot_id == self.boot_id

    def stamp(self) -> Stamp:
        mono = self.mono_ms()
        wall = self.wall()
        occurred_at = iso(wall)
        clock: dict[str, Any] = {"boot_id": self.boot_id, "mono_ms": mono}
        if self.anchor is not None:
            clock["anchor"] = self.anchor.as_json()
        if self.anchor is not None and self.anchor.boot_id == self.boot_id:
            effective = parse_time(self.anchor.server_time) + timedelta(
                milliseconds=mono - self.anchor.mono_ms
            )
            return Stamp(occurred_at, clock, effective, True)
        # No anchor from this boot: the server falls back to the wall clock (low confidence),
        # clamped to the moment it receives the event when that clock runs ahead.
        wall_time = parse_time(occurred_at)
        if wall_time > datetime.now(UTC) + FUTURE_TOLERANCE:
            return Stamp(occurred_at, clock, None, False)
        return Stamp(occurred_at, clock, wall_time, False)
