"""What a detection rule is: a kind, its defaults, and one set-based statement that finds every
subject at fault right now, across all hubs, joined to each hub's setting of the rule.

Every statement takes `$1` now and `$2` the rule's kind (read by `hub_rule` / `default_rule`),
plus whatever `Rule.arguments` adds, and returns the columns of `FAULT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal
from uuid import UUID

from backend.incidents.models import SEVERITIES

Unit = Literal["minutes", "failed_attempts"]

# The columns every rule's statement returns, one row per subject at fault.
FAULT_COLUMNS = (
    "subject",
    "hub_id",
    "route_id",
    "shipment_id",
    "driver_id",
    "severity",
    "occurred_at",
    "data",
)


def hub_rule(threshold: int, severity: str) -> str:
    """A CTE `hub_rule`: each hub's effective setting of the rule `$2`: the hub's own row, else
    the default row (hub_id NULL, seeded by the migration), else the rule's defaults in code
    (constants, never input)."""
    return f"""
hub_rule AS (
    SELECT h.id AS hub_id,
           coalesce(own.threshold, d.threshold, {int(threshold)}) AS threshold,
           coalesce(own.severity, d.severity, '{_severity(severity)}') AS severity,
           coalesce(own.enabled, d.enabled, true) AS enabled
    FROM hubs h
    LEFT JOIN hub_incident_rules d ON d.hub_id IS NULL AND d.kind = $2
    LEFT JOIN hub_incident_rules own ON own.hub_id = h.id AND own.kind = $2
)"""


def default_rule(threshold: int, severity: str) -> str:
    """A CTE `default_rule`: the default setting alone, for subjects of no hub (webhook
    endpoints)."""
    return f"""
default_rule AS (
    SELECT coalesce(d.threshold, {int(threshold)}) AS threshold,
           coalesce(d.severity, '{_severity(severity)}') AS severity,
           coalesce(d.enabled, true) AS enabled
    FROM (SELECT 1) one
    LEFT JOIN hub_incident_rules d ON d.hub_id IS NULL AND d.kind = $2
)"""


def _severity(severity: str) -> str:
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return severity


@dataclass(frozen=True, slots=True)
class Context:
    """What a round of detection knows besides the tables."""

    now: datetime
    # The shift start of drivers without a planning row (`LASTMILE_PLANNING_DEFAULT_SHIFT`).
    default_shift_start: time = time(8, 0)
    # Only these shipments (the push's path); None: every subject.
    shipment_ids: Sequence[UUID] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    # What the threshold counts, and the range a hub may set it to.
    unit: Unit
    minimum: int
    maximum: int
    default_threshold: int
    default_severity: str
    sql: str
    # Arguments after `$1` now and `$2` kind.
    arguments: Callable[[Context], tuple[object, ...]] = lambda context: ()
    # The statement limited to the shipments `$3` (evaluated with a status change), if any.
    sql_for_shipments: str | None = None


MINUTES_MAX = 7 * 24 * 60
