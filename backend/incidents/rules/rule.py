"""What a detection rule is: a kind, its defaults, and one set-based statement that finds every
subject at fault right now, across all hubs, joined to each hub's setting of the rule.

Every statement takes `$1` now and `$2` the rule's kind (read by `HUB_RULE` / `DEFAULT_RULE`),
plus whatever `Rule.arguments` adds, and returns the columns of `FAULT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal
from uuid import UUID

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

# Each hub's effective setting of the rule `$2`: the hub's own row, else the default (hub_id
# NULL). A rule without a default row finds nothing.
HUB_RULE = """
hub_rule AS (
    SELECT h.id AS hub_id,
           coalesce(own.threshold, d.threshold) AS threshold,
           coalesce(own.severity, d.severity) AS severity,
           coalesce(own.enabled, d.enabled) AS enabled
    FROM hubs h
    JOIN hub_incident_rules d ON d.hub_id IS NULL AND d.kind = $2
    LEFT JOIN hub_incident_rules own ON own.hub_id = h.id AND own.kind = $2
)"""

# The default setting alone, for subjects that belong to no hub (webhook endpoints).
DEFAULT_RULE = """
default_rule AS (
    SELECT threshold, severity, enabled FROM hub_incident_rules
    WHERE hub_id IS NULL AND kind = $2
)"""


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
    # A rule that can look at some shipments only (evaluated in the push's transaction).
    by_shipment: bool = False


MINUTES_MAX = 7 * 24 * 60
