"""Plain words for recipients: statuses, history lines and instructions. Pure functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

STATUS_TEXT = {
    "created": "We have your parcel's details and are waiting to receive it.",
    "at_hub": "Your parcel is at our local depot.",
    "out_for_delivery": "Your parcel is out for delivery today.",
    "delivered": "Your parcel has been delivered.",
    "attempt_failed": "We tried to deliver your parcel but could not.",
    "with_partner": "Your parcel is with our delivery partner.",
    "returned": "Your parcel has been returned to the sender.",
    "cancelled": "This delivery has been cancelled.",
}

FAILURE_TEXT = {
    "recipient_absent": "nobody was there to receive it",
    "no_access": "we could not get to the door",
    "refused": "it was refused",
    "damaged": "it was damaged",
    "address_not_found": "we could not find the address",
    "unsafe": "it was not safe to deliver",
}

HANDOFF_TEXT = {
    "recipient": "handed to you",
    "neighbour": "left with a neighbour",
    "safe_drop": "left at your safe place",
    "pickup_point": "left at the pickup point",
    "locker": "put in a parcel locker",
}

_EVENT_TEXT = {
    "created": "We received the parcel's details from the sender.",
    "scan_hub_in": "Your parcel arrived at our local depot.",
    "returned_to_hub": "Your parcel went back to our local depot.",
    "scan_loaded": "Your parcel is on the van and out for delivery.",
    "handed_over": "Your parcel was handed to our delivery partner.",
    "returned": "Your parcel was returned to the sender.",
    "cancelled": "The delivery was cancelled.",
    "redelivery": "Your parcel is back with us for another delivery.",
}


def status_text(status: str) -> str:
    return STATUS_TEXT.get(status, "We are working on your delivery.")


def event_text(event_type: str, data: dict[str, Any]) -> str | None:
    """One history line, or None for internal events a recipient has no use for."""
    if event_type == "delivered":
        handoff = HANDOFF_TEXT.get(str(data.get("handoff")), "delivered")
        return f"Delivered: {handoff}."
    if event_type == "delivery_failed":
        reason = FAILURE_TEXT.get(str(data.get("reason")), "something got in the way")
        return f"We tried to deliver, but {reason}."
    if event_type in ("rescheduled", "safe_drop", "redirected_to_pickup_point"):
        return instruction_text(event_type, data)
    return _EVENT_TEXT.get(event_type)


def instruction_text(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "rescheduled":
        if data.get("date"):
            return f"You asked for delivery on {_day(data['date'])}."
        window = data.get("window") or {}
        return f"You asked for delivery {_window(window.get('start'), window.get('end'))}."
    if event_type == "safe_drop":
        return f"You asked us to leave it at a safe place: {data.get('location_note', '')}"
    return f"You asked us to take it to the pickup point {data.get('pickup_point_name', '')}."


def pod_text(handoff: str, delivered_at: datetime) -> str:
    where = HANDOFF_TEXT.get(handoff, "delivered")
    return f"Delivered on {delivered_at:%d %b %Y at %H:%M} UTC: {where}."


def _day(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%A %d %B %Y")


def _window(start: str | None, end: str | None) -> str:
    if not (start and end):
        return "at another time"
    begin, finish = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return f"on {begin:%A %d %B} between {begin:%H:%M} and {finish:%H:%M} UTC"
