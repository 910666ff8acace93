"""Who may receive an offer, and why the others may not: pure rules over facts one query read."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Work:
    parcels: int
    weight_kg: float
    window_start: datetime
    window_end: datetime
    radius_m: float | None


def available(slots: list[dict[str, Any]], start: datetime, end: datetime) -> bool:
    """A weekly slot (UTC) covers the whole window; a window past midnight needs an online
    courier."""
    if start.date() != end.date() and end.time() != datetime.min.time():
        return False
    day, begin = start.isoweekday(), start.strftime("%H:%M")
    finish = "24:00" if end.date() != start.date() else end.strftime("%H:%M")
    return any(s["weekday"] == day and s["start"] <= begin and s["end"] >= finish for s in slots)


def exclusion_reasons(facts: Any, work: Work) -> list[str]:
    """Empty when the courier is eligible. `facts` is a row of `OfferRepository.courier_facts`."""
    reasons = []
    if facts["status"] != "active" or not facts["driver_active"]:
        reasons.append("not_active")
    window = (work.window_start, work.window_end)
    if not facts["online"] and not available(facts["availability"] or [], *window):
        reasons.append("not_available")
    if facts["capacity_parcels"] is not None and facts["capacity_parcels"] < work.parcels:
        reasons.append("no_capacity_parcels")
    if facts["capacity_kg"] is not None and facts["capacity_kg"] < work.weight_kg:
        reasons.append("no_capacity_weight")
    if work.radius_m is not None:
        if not facts["has_position"]:
            reasons.append("position_unknown")
        elif not facts["near"]:
            reasons.append("too_far")
    return reasons


def split(
    facts: list[Any], wanted: list[UUID] | None, work: Work
) -> tuple[list[UUID], list[tuple[UUID, list[str]]]]:
    """(eligible courier ids, [(excluded id, reasons)]) in id order."""
    known = {row["driver_id"]: row for row in facts}
    offered, excluded = [], []
    for driver_id in sorted(set(wanted) if wanted is not None else known):
        row = known.get(driver_id)
        reasons = exclusion_reasons(row, work) if row is not None else ["not_a_courier"]
        if reasons:
            excluded.append((driver_id, reasons))
        else:
            offered.append(driver_id)
    return offered, excluded
