"""Playbooks: for each incident kind, the ordered steps dispatch takes. A step with an `action`
is one click (backend/incidents/actions.py runs it through the owning domain's service); a step
without one is done by hand and marked done. docs/incidents.md lists them."""

from dataclasses import dataclass

# One-click actions (backend/incidents/actions.py).
REPLAN_ROUTE = "replan_route"
REASSIGN_ROUTE = "reassign_route"
MOVE_STOPS = "move_stops"
HAND_OVER = "hand_over"
NOTIFY_NEW_WINDOW = "notify_new_window"
RESCHEDULE = "reschedule"
ACTIONS = (REPLAN_ROUTE, REASSIGN_ROUTE, MOVE_STOPS, HAND_OVER, NOTIFY_NEW_WINDOW, RESCHEDULE)


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    action: str | None = None


def _manual(title: str) -> Step:
    return Step(title)


CALL_DRIVER = _manual("Call the driver")
CHECK_POD = _manual("Review the proof of delivery (photos, position, handoff)")
CALL_RECIPIENT = _manual("Call the recipient to confirm")
TELL_RECIPIENTS = Step("Tell the recipients their new window", NOTIFY_NEW_WINDOW)
MOVE_TO_DRIVER = Step("Move the stops to another driver", MOVE_STOPS)
GIVE_ROUTE = Step("Give the route to another driver", REASSIGN_ROUTE)
TO_PARTNER = Step("Hand the shipments over to a partner carrier", HAND_OVER)
NEW_DAY = Step("Reschedule to another day and tell the recipient", RESCHEDULE)
REPLAN = Step("Re-plan the route", REPLAN_ROUTE)

PLAYBOOKS: dict[str, tuple[Step, ...]] = {
    # A driver no longer assigned scanned the shipment.
    "custody_conflict": (
        CALL_DRIVER,
        _manual("Find who holds the parcel now"),
        Step("Put the shipment on the route of the driver who holds it", MOVE_STOPS),
        TELL_RECIPIENTS,
    ),
    # Delivered far from the delivery point.
    "outside_geofence": (
        CHECK_POD,
        CALL_DRIVER,
        CALL_RECIPIENT,
    ),
    "incomplete_pod": (
        CHECK_POD,
        CALL_DRIVER,
        _manual("Collect the missing proof, or open a claim"),
    ),
    "wrong_pin": (
        CHECK_POD,
        CALL_RECIPIENT,
        _manual("Open a claim if the recipient did not receive it"),
    ),
    # The driver's handheld stopped sending positions.
    "stale_gps": (
        CALL_DRIVER,
        _manual("Check the handheld is charged, online and signed in"),
        MOVE_TO_DRIVER,
    ),
    "driver_silent": (
        CALL_DRIVER,
        GIVE_ROUTE,
        TELL_RECIPIENTS,
    ),
    "late_risk": (
        REPLAN,
        MOVE_TO_DRIVER,
        TELL_RECIPIENTS,
        TO_PARTNER,
    ),
    "long_dwell": (
        CALL_DRIVER,
        REPLAN,
        TELL_RECIPIENTS,
    ),
    "repeated_failure": (
        CALL_RECIPIENT,
        NEW_DAY,
        _manual("Offer a pickup point, or return the parcel to the shipper"),
    ),
    "route_not_started": (
        CALL_DRIVER,
        GIVE_ROUTE,
        TELL_RECIPIENTS,
    ),
    "kpi_off_target": (
        _manual("Read the hub's KPI report for the day"),
        _manual("Find the routes and drivers behind the figure"),
        _manual("Agree a corrective action with the hub lead"),
    ),
    # The webhook worker disabled an endpoint failing for days (backend/webhooks).
    "webhook_endpoint_disabled": (
        _manual("Read why the endpoint was disabled and its last attempts"),
        _manual("Contact the organisation that owns the endpoint"),
        _manual("Enable it once it answers, and replay the deliveries missed"),
    ),
    "webhook_endpoint_failing": (
        _manual("Read the endpoint's last attempts"),
        _manual("Contact the organisation that owns the endpoint"),
        _manual("Replay the deliveries missed once it answers again"),
    ),
    # Offers of work to couriers (backend/offers).
    "offer_unanswered": (
        _manual("Widen the offer to more couriers, or raise the pay"),
        MOVE_TO_DRIVER,
        TO_PARTNER,
    ),
    "offer_expired": (
        MOVE_TO_DRIVER,
        TO_PARTNER,
        TELL_RECIPIENTS,
    ),
}
# A kind with no playbook of its own (a new detection rule): the generic steps.
DEFAULT_PLAYBOOK: tuple[Step, ...] = (
    _manual("Find out what happened"),
    _manual("Fix the cause, or record why it needs no fix"),
)


def playbook_of(kind: str) -> tuple[Step, ...]:
    return PLAYBOOKS.get(kind, DEFAULT_PLAYBOOK)
