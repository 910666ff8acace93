"""What the incident API reads and accepts (docs/incidents.md)."""

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.shipments.schemas import Window

IncidentStatus = Literal["open", "acknowledged", "resolved"]
Severity = Literal["low", "medium", "high", "critical"]
# How an incident ended: a closed list, so the review can count outcomes by code.
RESOLUTION_CODES = (
    "fixed",
    "false_alarm",
    "cleared",
    "delivered",
    "rescheduled",
    "handed_over",
    "cancelled",
    "duplicate",
    "other",
)
ResolutionCode = Literal[
    "fixed",
    "false_alarm",
    "cleared",
    "delivered",
    "rescheduled",
    "handed_over",
    "cancelled",
    "duplicate",
    "other",
]
# Some visible character: a comment or reason of blanks says nothing.
_SAYS_SOMETHING = r"\S"
Text = Annotated[str, Meta(min_length=1, max_length=4000, pattern=_SAYS_SOMETHING)]
Note = Annotated[str, Meta(min_length=1, max_length=2000, pattern=_SAYS_SOMETHING)]
MAX_STEP_SHIPMENTS = 200


class PlaybookStepRead(msgspec.Struct):
    step: int
    title: str
    # The one-click action this step runs, or None for a manual step.
    action: str | None
    taken_at: dt.datetime | None


class IncidentRead(msgspec.Struct):
    id: UUID
    kind: str
    status: IncidentStatus
    severity: Severity
    hub_id: UUID | None
    route_id: UUID | None
    shipment_id: UUID | None
    driver_id: UUID | None
    subject: str | None
    data: dict[str, Any]
    occurred_at: dt.datetime
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    assigned_to: UUID | None
    escalated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution_code: str | None
    playbook: list[PlaybookStepRead]


class ActivityRead(msgspec.Struct):
    kind: str
    actor_id: UUID | None
    at: dt.datetime
    data: dict[str, Any]


class IncidentDetail(IncidentRead):
    activities: list[ActivityRead]


class IncidentPage(msgspec.Struct):
    items: list[IncidentRead]
    next_cursor: str | None


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    user_id: UUID


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Text


class ResolveIn(msgspec.Struct, forbid_unknown_fields=True):
    resolution_code: ResolutionCode
    note: Note | None = None


class ReopenIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Note


class StepIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Parameters of a playbook step's action; each action names those it needs (422 naming
    the missing one). A manual step takes only `note`."""

    driver_id: UUID | None = None
    # Default: the incident's route, else the route its shipment is on.
    route_id: UUID | None = None
    organization_id: UUID | None = None
    # Default: the incident's shipment, else the open stops of the incident's route.
    shipment_ids: (
        Annotated[list[UUID], Meta(min_length=1, max_length=MAX_STEP_SHIPMENTS)] | None
    ) = None
    window: Window | None = None
    time_limit_s: Annotated[float, Meta(gt=0, le=600)] | None = None
    note: Note | None = None


class StepTaken(msgspec.Struct):
    incident: IncidentRead
    result: dict[str, Any]


FindingKind = Literal["finding", "follow_up"]


class FindingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: FindingKind
    text: Text
    # A follow-up's owner (a staff user) and due date.
    owner_id: UUID | None = None
    due: dt.date | None = None


class FindingRead(msgspec.Struct):
    id: UUID
    kind: FindingKind
    text: str
    owner_id: UUID | None
    due: dt.date | None
    author_id: UUID | None
    created_at: dt.datetime


class TimelineEntry(msgspec.Struct):
    at: dt.datetime
    kind: str
    actor_id: UUID | None
    data: dict[str, Any]


class IncidentOutcome(msgspec.Struct):
    seconds_to_acknowledge: float | None
    seconds_to_first_action: float | None
    seconds_to_resolve: float | None
    actions_taken: int
    reopened: int
    resolution_code: str | None
    shipments_affected: int
    delivered: int
    delivered_in_window: int
    delivered_late: int
    not_delivered: int


class IncidentReview(msgspec.Struct):
    incident_id: UUID
    kind: str
    status: IncidentStatus
    timeline: list[TimelineEntry]
    outcome: IncidentOutcome
    findings: list[FindingRead]


class DisruptionOutcome(msgspec.Struct):
    seconds_to_plan: float | None
    seconds_to_apply: float | None
    seconds_to_recover: float | None
    shipments_affected: int
    delivered: int
    delivered_in_window: int
    delivered_late: int
    not_delivered: int
    handed_over: int
    incidents_opened: int


class DisruptionReview(msgspec.Struct):
    disruption_id: UUID
    kind: str
    status: str
    timeline: list[TimelineEntry]
    outcome: DisruptionOutcome
    findings: list[FindingRead]
