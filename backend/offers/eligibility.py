"""Who receives an offer. The reasons a courier may not take the work come from one query
(`OfferRepository.courier_reasons`); here they are sorted into offered and excluded."""

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any
from uuid import UUID

# Couriers excluded only for these, when dispatch named nobody, are counted rather than listed:
# a city's couriers outside the radius are not news.
DISTANCE_ONLY = frozenset({"too_far", "position_unknown"})


def weekly_slot(start: datetime, end: datetime) -> tuple[int, str, str] | None:
    """(ISO weekday, "HH:MM", "HH:MM") a weekly availability slot (UTC) must cover for the
    window; None when no slot can (a window past midnight needs an online courier)."""
    ends_at_midnight = end.time() == time(0) and (end.date() - start.date()).days == 1
    if start.date() != end.date() and not ends_at_midnight:
        return None
    finish = "24:00" if ends_at_midnight else end.strftime("%H:%M")
    return start.isoweekday(), start.strftime("%H:%M"), finish


def split(
    rows: Sequence[Any], wanted: list[UUID] | None
) -> tuple[list[UUID], list[tuple[UUID, list[str]]], int]:
    """(eligible ids, [(excluded id, reasons)], how many are out of range only), in id order.
    Named couriers (`wanted`) are all accounted for, those who are no couriers too."""
    reasons = {row["driver_id"]: list(row["reasons"]) for row in rows}
    offered, excluded, out_of_range = [], [], 0
    for driver_id in sorted(set(wanted)) if wanted is not None else reasons:
        why = reasons.get(driver_id, ["not_a_courier"])
        if not why:
            offered.append(driver_id)
        elif wanted is None and DISTANCE_ONLY.issuperset(why):
            out_of_range += 1
        else:
            excluded.append((driver_id, why))
    return offered, excluded, out_of_range
