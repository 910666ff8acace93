"""The words recipients read, one template per kind. Times are shown in UTC until hubs carry a
time zone of their own (docs/notifications.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

WINDOW_HALF = timedelta(minutes=15)


def render(kind: str, tracking_number: str, link: str, data: dict[str, Any]) -> str:
    ref = f"Parcel {tracking_number}"
    if kind == "new_window":
        return _new_window(ref, link, data)
    if kind == "on_the_way":
        return f"{ref} is on its way to you today. Track it: {link}"
    if kind == "eta_window":
        return f"{ref} is expected {eta_window(data.get('eta'))}. Track it: {link}"
    if kind == "rerouted" and data.get("disruption"):
        return _disrupted(ref, link, data)
    if kind == "rerouted":
        change = INSTRUCTIONS.get(str(data.get("instruction")), "changed as you asked")
        return f"{ref}: your delivery was {change}. Details: {link}"
    if kind == "delivered":
        return f"{ref} was delivered. Thank you! Details: {link}"
    if kind == "failed":
        return f"We could not deliver {ref} today. Choose a new day or a pickup point: {link}"
    raise ValueError(f"no template for {kind!r}")


def _disrupted(ref: str, link: str, data: dict[str, Any]) -> str:
    """A disruption on our side (a van broke down, a hub or zone closed) moved the delivery."""
    if data.get("rescheduled"):
        return (
            f"{ref}: a disruption on our side means we cannot deliver it today. We will bring it"
            f" on the next delivery day, or choose a day or a pickup point: {link}"
        )
    return f"{ref}: we changed its delivery after a disruption; now expected {eta_window(data.get('eta'))}. Track it: {link}"


def _new_window(ref: str, link: str, data: dict[str, Any]) -> str:
    """Dispatch gave the delivery a new window (an incident's playbook), maybe another day."""
    window = data["window"]
    start, end = datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])
    when = f"{start:%d %b}, between {start:%H:%M} and {end:%H:%M} UTC"
    if data.get("rescheduled"):
        return (
            f"{ref}: we moved its delivery to {when}. Choose another day or a pickup point: {link}"
        )
    return f"{ref} has a new delivery window: {when}. Track it: {link}"


def on_call_text(data: dict[str, Any]) -> str:
    """To a hub's on-call contact: an urgent incident nobody acknowledged in time."""
    where = f" at hub {data['hub_code']}" if data.get("hub_code") else ""
    about = f" ({data['subject']})" if data.get("subject") else ""
    return (
        f"Lastmile: {data['severity']} incident {data['kind']}{about}{where} not acknowledged"
        f" within {data['minutes']} min. Incident {data['incident_id']}."
    )


INSTRUCTIONS = {
    "reschedule": "rescheduled",
    "safe_drop": "changed to a safe drop",
    "pickup_point": "redirected to a pickup point",
}


def eta_window(eta: str | None) -> str:
    if not eta:
        return "soon"
    at = datetime.fromisoformat(eta)
    start, end = at - WINDOW_HALF, at + WINDOW_HALF
    return f"between {start:%H:%M} and {end:%H:%M} UTC"
