"""Planning's settings, parsed from their `LASTMILE_*` strings: speeds per vehicle kind, service
time per handoff kind, the default shift. Checked when `Settings` is built."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.config import Settings

HANDOFF_KINDS = ("doorstep", "signature", "age_check")


def parse_pairs(text: str, name: str) -> dict[str, float]:
    """`"a=1,b=2.5"` -> {"a": 1.0, "b": 2.5}; a ValueError names the setting."""
    pairs: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not sep or not key.strip() or number < 0 or number != number:
            raise ValueError(f"LASTMILE_{name.upper()}: {item!r} is not kind=number")
        pairs[key.strip()] = number
    return pairs


def parse_shift(text: str) -> tuple[time, time]:
    start, sep, end = text.partition("-")
    try:
        shift = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        shift = None
    if not sep or shift is None or shift[0] >= shift[1]:
        raise ValueError(f"LASTMILE_PLANNING_DEFAULT_SHIFT: {text!r} is not HH:MM-HH:MM")
    return shift


@dataclass(frozen=True)
class PlanningSettings:
    speeds_kmh: dict[str, float]
    service_seconds: dict[str, float]
    per_parcel_seconds: int
    heavy_kg: float
    window_margin_s: int
    default_shift: tuple[time, time]
    detour_factor: float
    osrm_url: str | None
    lease_seconds: float
    max_time_limit_s: float
    cost_per_km: float
    cost_per_hour: float
    # The currency of the cost model (`LASTMILE_KPI_CURRENCY`): a rescue courier's pay is in it.
    currency: str = "EUR"

    @classmethod
    def of(cls, settings: Settings) -> PlanningSettings:
        service = {"doorstep": 60.0, "signature": 120.0, "age_check": 180.0}
        service |= parse_pairs(settings.planning_service_seconds, "planning_service_seconds")
        return cls(
            speeds_kmh=parse_pairs(settings.routing_speeds_kmh, "routing_speeds_kmh"),
            service_seconds=service,
            per_parcel_seconds=settings.planning_service_per_parcel_seconds,
            heavy_kg=settings.planning_heavy_kg,
            window_margin_s=settings.planning_window_margin_s,
            default_shift=parse_shift(settings.planning_default_shift),
            detour_factor=settings.routing_detour_factor,
            osrm_url=settings.routing_osrm_url,
            lease_seconds=settings.planning_lease_seconds,
            max_time_limit_s=settings.planning_max_time_limit_s,
            cost_per_km=settings.planning_cost_per_km,
            cost_per_hour=settings.planning_cost_per_hour,
            currency=settings.kpi_currency,
        )


def check_planning_settings(settings: Settings) -> None:
    speeds = parse_pairs(settings.routing_speeds_kmh, "routing_speeds_kmh")
    if any(v <= 0 for v in speeds.values()):
        raise ValueError("LASTMILE_ROUTING_SPEEDS_KMH: every speed must be above 0")
    parse_pairs(settings.planning_service_seconds, "planning_service_seconds")
    parse_shift(settings.planning_default_shift)
