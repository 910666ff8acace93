"""The application's status machine: which status may follow which."""

from backend.lib.errors import Conflict

ALLOWED: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted"}),
    "submitted": frozenset({"under_review", "rejected"}),
    "under_review": frozenset({"checks_pending", "rejected"}),
    "checks_pending": frozenset({"approved", "rejected"}),
    "approved": frozenset({"active"}),
    "rejected": frozenset(),
    "active": frozenset({"suspended", "offboarded"}),
    "suspended": frozenset({"active", "offboarded"}),
    "offboarded": frozenset(),
}
# Statuses in which the applicant may still change the application itself.
EDITABLE = frozenset({"draft"})
# Statuses in which a document may be (re-)uploaded: before a decision, and as a courier.
UPLOADS_OPEN = frozenset(
    {"draft", "submitted", "under_review", "checks_pending", "active", "suspended"}
)


def check_transition(current: str, target: str) -> None:
    """409 naming the current status when `target` may not follow it."""
    if target not in ALLOWED[current]:
        raise Conflict(
            f"The application is {current}; it cannot become {target}",
            code="illegal_transition",
            errors=[{"field": "status", "message": current}],
        )
