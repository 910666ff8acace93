"""A hub's detection settings at the boundary: each rule's threshold, severity and switch, the
on-call contact and the escalation delay."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.incidents.rules.rule import MINUTES_MAX, Unit

RuleKind = Literal[
    "late_risk",
    "driver_silent",
    "long_dwell",
    "repeated_failure",
    "route_not_started",
    "webhook_endpoint_failing",
    "offer_unanswered",
]
Severity = Literal["low", "medium", "high", "critical"]
Minutes = Annotated[int, Meta(ge=1, le=MINUTES_MAX, description="minutes, 1 to 10080 (7 days)")]
Phone = Annotated[
    str,
    Meta(pattern=r"^\+?[0-9][0-9 ()/.-]{3,38}$", max_length=40, examples=["+49 30 1234567"]),
]
Email = Annotated[
    str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320, examples=["ops@example.com"])
]


class IncidentRuleWrite(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: RuleKind
    # In the rule's unit: minutes (1..10080), or failed attempts (2..10) for repeated_failure.
    threshold: Annotated[int, Meta(ge=1, le=MINUTES_MAX)]
    severity: Severity
    enabled: bool = True


class OnCallContact(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Who is told of urgent incidents nobody acknowledged: by SMS when a phone is given, else
    by e-mail."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    phone: Phone | None = None
    email: Email | None = None


class HubIncidentRulesWrite(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The hub's settings, whole: rules listed here override the defaults, rules left out go
    back to them; no `on_call` removes the contact; no `escalation_minutes` means the default
    delay."""

    rules: Annotated[list[IncidentRuleWrite], Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    on_call: OnCallContact | None = None
    escalation_minutes: Minutes | None = None


class IncidentRuleRead(msgspec.Struct, kw_only=True):
    kind: str
    threshold: int
    unit: Unit
    severity: str
    enabled: bool
    # True: the default applies (the hub set nothing of its own for this rule).
    inherited: bool


class HubIncidentRulesRead(msgspec.Struct, kw_only=True):
    hub_id: UUID
    rules: list[IncidentRuleRead]
    on_call: OnCallContact | None
    escalation_minutes: int
    escalation_inherited: bool
