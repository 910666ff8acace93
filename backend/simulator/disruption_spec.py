"""What `scripts/simulate --disruption` is asked for, and what it reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

KINDS = {
    "breakdown": "vehicle_breakdown",
    "unavailable": "driver_unavailable",
    "zone": "zone_closed",
    "spike": "volume_spike",
}


@dataclass(frozen=True)
class DisruptionSpec:
    kind: str
    at: dt.time


def parse_disruption(text: str) -> DisruptionSpec:
    """`breakdown@11:00` (also `unavailable@…`, `zone@…`, `spike@…`)."""
    name, sep, when = text.partition("@")
    if name not in KINDS or not sep:
        raise ValueError(f"--disruption: expected KIND@HH:MM with KIND one of {sorted(KINDS)}")
    try:
        at = dt.time.fromisoformat(when)
    except ValueError:
        raise ValueError(f"--disruption: {when!r} is not HH:MM") from None
    if not dt.time(8, 0) < at < dt.time(18, 0):
        raise ValueError("--disruption: the time must fall inside the shift (08:00-18:00)")
    return DisruptionSpec(KINDS[name], at)


@dataclass
class DisruptionReport:
    kind: str
    at: str
    drivers: int
    shipments: int
    affected: int = 0
    outcome: dict[str, Any] = field(default_factory=dict)
    impact: dict[str, Any] = field(default_factory=dict)
    ready_s: float = 0.0
    applied_s: float = 0.0
    recovered_after_min: float | None = None

    @property
    def share(self) -> float:
        """In window over affected; 0 when nothing was affected (nothing was shown)."""
        if not self.affected:
            return 0.0
        return float(self.outcome.get("share_in_window", 0.0))

    def render(self) -> str:
        recovered = (
            f"{self.recovered_after_min:.0f} min after the disruption"
            if self.recovered_after_min is not None
            else "not yet"
        )
        return "\n".join(
            [
                f"disruption {self.kind} at {self.at}: {self.drivers} drivers + 1 spare, "
                f"{self.shipments} shipments",
                f"affected stops: {self.affected}; impact planned: {self.impact}",
                f"delivered in window: {self.outcome.get('delivered_in_window')} of "
                f"{self.outcome.get('affected')} ({100 * self.share:.1f} %), late "
                f"{self.outcome.get('delivered_late')}, not delivered "
                f"{self.outcome.get('not_delivered')}",
                f"time to recovery: plan ready {self.ready_s:.1f} s and applied "
                f"{self.applied_s:.1f} s after the report (real time); every affected stop "
                f"settled {recovered}",
                f"target >= 95 % in window: {'met' if self.share >= 0.95 else 'NOT met'}",
            ]
        )
