"""Who may receive an offer, and why the others may not: rules over the facts one query read
(`OfferRepository.courier_facts`)."""

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Work:
    parcels: int
    weight_kg: float
    window_start: datetime
    window_end: datetime
    radius_m: float | None


def weekly_slot(start: datetime, end: datetime) -> tuple[int, str, str] | None:
    """(ISO weekday, "HH:MM", "HH:MM") a weekly availability slot (UTC) must cover for the
    window; None when no slot can (a window past midnight needs an online courier)."""
    ends_at_midnight = end.time() == time(0) and (end.date() - start.date()).days == 1
    if start.date() != end.date() and not ends_at_midnight:
        return None
    finish = "24:00" if ends_at_midnight else end.strftime("%H:%M")
    return start.isoweekday(), start.strftime("%H:%M"), finish


def exclusion_reasons(facts: Any, work: Work) -> list[str]:
    """Empty when the courier is eligible."""
    reasons = []
    if not facts["active"]:
        reasons.append("not_active")
    if not facts["online"] and not facts["available"]:
        reasons.append("not_available")
    if not facts["room_parcels"]:
        reasons.append("no_capacity_parcels")
    if not facts["room_weight"]:
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
