"""The tracking page as one self-contained HTML document: inline CSS, an inline SVG map, no
script, no external asset (nothing to load from elsewhere, nothing that leaks the token in a
Referer). Times in the hub's time zone. Pure."""

from __future__ import annotations

from html import escape

from backend.recipients.schemas import Option, PickupPointOption, TrackingView
from backend.web.map import driver_map
from backend.web.times import Clock, expected_range, running_late

_CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;
color:#1b1f24;background:#f4f5f7}main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.2rem 0 .8rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.card{background:#fff;border-radius:.6rem;padding:1rem;margin:.8rem 0;box-shadow:0 1px 2px #0002}
.muted{color:#5b6470;font-size:.9rem}.big{font-size:1.6rem;font-weight:600}
.pin{font:600 1.8rem/1 ui-monospace,monospace;letter-spacing:.3rem}
ol{padding-left:1.1rem;margin:0}li{margin:.35rem 0}
.notice{background:#e7f5ec;border-left:4px solid #2f9e5b}.error{background:#fdecec;
border-left:4px solid #c9372c}label{display:block;margin:.4rem 0 .2rem}
input,textarea,select,button{font:inherit;width:100%;padding:.55rem;border:1px solid #c4c9d0;
border-radius:.4rem}button{background:#1f5fbf;color:#fff;border:0;margin-top:.5rem}
details{margin:.6rem 0}summary{cursor:pointer;font-weight:600}
.late{background:#fff4e0;border-left:4px solid #d08a1d}svg.map{width:100%;height:auto;
display:block;margin:.6rem 0 .2rem}.unavailable{padding-left:1.1rem;margin:.4rem 0 0}
"""
OPTION_TITLES = {
    "reschedule": "Choose another day",
    "safe_drop": "Leave it at a safe place",
    "pickup_point": "Send it to a pickup point",
}

ERROR_TEXT = "We could not make that change."


def render(
    view: TrackingView,
    token: str,
    pickup_points: list[PickupPointOption],
    *,
    clock: Clock,
    home: tuple[float, float] | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> str:
    """`home` is the delivery point (lon, lat): with the driver's position, the map."""
    parts = [f"<h1>{escape(view.status_text)}</h1>"]
    if notice:
        parts.append(f'<p class="card notice" role="status">{escape(notice)}</p>')
    if error:
        parts.append(f'<p class="card error" role="alert">{escape(error)}</p>')
    parts.append(_when(view, clock, home))
    if view.pin:
        parts.append(
            '<section class="card"><div class="muted">Your delivery PIN: tell it to the driver'
            f'</div><div class="pin">{escape(view.pin)}</div></section>'
        )
    if view.pod:
        parts.append(f'<section class="card">{escape(view.pod.text)}</section>')
    if view.instruction:
        parts.append(
            f'<section class="card"><h2>Your request</h2>{escape(view.instruction.text)}'
            f'<div class="muted">{clock.stamp(view.instruction.at)}</div></section>'
        )
    parts.append(_options(view.options, token, pickup_points))
    parts.append(_history(view, clock))
    title = f"Parcel {escape(view.tracking_number)}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
        f'<div class="muted">{title} · to {escape(view.destination)}</div>'
        + "".join(parts)
        + f'<p class="muted"><a href="/t/{escape(token)}">Refresh</a></p></main></body></html>'
    )


def _when(view: TrackingView, clock: Clock, home: tuple[float, float] | None) -> str:
    lines = []
    if view.eta:
        start, end = expected_range(view.eta, view.stops_before)
        lines.append(
            f'<div class="muted">Expected between</div><div class="big">{clock.span(start, end)}'
            f'</div><div class="muted">Best estimate {clock.time(view.eta)}</div>'
        )
    if view.window and (not view.eta or view.window.end >= view.eta):
        lines.append(
            f'<div class="muted">Delivery window</div><div>{clock.day(view.window.start)}, '
            f"{clock.span(view.window.start, view.window.end)}</div>"
        )
    if view.stops_before is not None:
        stops = "stop" if view.stops_before == 1 else "stops"
        lines.append(f"<div>{view.stops_before} {stops} before yours.</div>")
    if view.driver_position:
        position = view.driver_position.location
        if home is not None:
            lines.append(driver_map(home, (position.lon, position.lat)))
        lines.append(
            f"<div>Your driver is nearby (last seen at {clock.time(view.driver_position.at)}).</div>"
        )
    late = _late(view, clock)
    card = f'<section class="card">{"".join(lines)}</section>' if lines else ""
    return late + card


def _late(view: TrackingView, clock: Clock) -> str:
    if not running_late(view.eta, view.window):
        return ""
    assert view.window is not None and view.eta is not None
    return (
        '<p class="card late" role="status"><strong>Running late.</strong> We now expect to '
        f"arrive around {clock.time(view.eta)}, after your delivery window "
        f"({clock.span(view.window.start, view.window.end)}). Sorry for the wait: the driver is "
        "on the way.</p>"
    )


def _options(options: list[Option], token: str, points: list[PickupPointOption]) -> str:
    action = f"/t/{escape(token)}"
    forms = []
    for option in options:
        if not option.available:
            continue
        if option.type == "reschedule":
            forms.append(
                f'<details><summary>Choose another day</summary><form method="post" '
                f'action="{action}"><input type="hidden" name="type" value="reschedule">'
                '<label for="date">Day</label><input id="date" type="date" name="date" required>'
                "<button>Reschedule</button></form></details>"
            )
        elif option.type == "safe_drop":
            forms.append(
                f'<details><summary>Leave it at a safe place</summary><form method="post" '
                f'action="{action}"><input type="hidden" name="type" value="safe_drop">'
                '<label for="note">Where exactly?</label><textarea id="note" name="location_note" '
                'minlength="3" maxlength="500" required></textarea>'
                "<button>Leave it there</button></form></details>"
            )
        elif points:
            choices = "".join(
                f'<option value="{p.id}">{escape(p.name)} ({p.distance_m} m)</option>'
                for p in points
            )
            forms.append(
                f'<details><summary>Send it to a pickup point</summary><form method="post" '
                f'action="{action}"><input type="hidden" name="type" value="pickup_point">'
                f'<label for="pp">Pickup point</label><select id="pp" name="pickup_point_id">'
                f"{choices}</select><button>Send it there</button></form></details>"
            )
    return (
        f'<section class="card"><h2>Change the delivery</h2>{"".join(forms)}'
        f"{_not_offered(options, points)}</section>"
    )


def _not_offered(options: list[Option], points: list[PickupPointOption]) -> str:
    """Each option the recipient does not get, with the reason (never a silent absence)."""
    missing: dict[str, str] = {}
    for option in options:
        reason = option.reason
        if option.available and option.type == "pickup_point" and not points:
            reason = "There is no pickup point near this address."
        if not option.available or reason is not None:
            missing[option.type] = reason or "This is not possible for this delivery."
    if not missing:
        return ""
    if len(missing) == len(options) and len(set(missing.values())) == 1:
        return f'<p class="muted not-offered">{escape(next(iter(missing.values())))}</p>'
    items = "".join(
        f"<li><strong>{OPTION_TITLES[kind]}</strong>: {escape(why)}</li>"
        for kind, why in missing.items()
    )
    return f'<p class="muted">Not offered now:</p><ul class="unavailable">{items}</ul>'


def _history(view: TrackingView, clock: Clock) -> str:
    items = "".join(
        f'<li>{escape(item.text)} <span class="muted">{clock.stamp(item.at)}</span></li>'
        for item in reversed(view.history)
    )
    return f'<section class="card"><h2>What happened so far</h2><ol reversed>{items}</ol></section>'
