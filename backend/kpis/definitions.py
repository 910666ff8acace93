"""The KPIs, named once. Their definitions in words are in docs/kpis.md; their SQL is in
`repository.py` (facts from the event log) and `queries.py` (the aggregate per group)."""

from typing import Literal

# Higher is better for rates; lower is better for the rest (a target may bound either side).
KPI_NAMES = (
    "on_time_rate",
    "first_attempt_success",
    "attempts_per_parcel",
    "diversion_frequency",
    "dwell_p50_seconds",
    "dwell_p90_seconds",
    "partner_report_lag_p50_seconds",
    "partner_report_lag_p90_seconds",
    "cost_per_parcel",
    "incidents_opened",
    "incident_resolve_p50_seconds",
)
Kpi = Literal[
    "on_time_rate",
    "first_attempt_success",
    "attempts_per_parcel",
    "diversion_frequency",
    "dwell_p50_seconds",
    "dwell_p90_seconds",
    "partner_report_lag_p50_seconds",
    "partner_report_lag_p90_seconds",
    "cost_per_parcel",
    "incidents_opened",
    "incident_resolve_p50_seconds",
]
GROUP_BY = ("day", "hub", "zone", "route", "driver", "partner")
GroupBy = Literal["day", "hub", "zone", "route", "driver", "partner"]

ATTEMPT_TYPES = ("delivered", "delivery_failed")
# The first of these fixes a shipment's KPI day.
OUTCOME_TYPES = ("delivered", "delivery_failed", "handed_over", "returned", "cancelled")
DIVERSION_TYPES = ("rerouted", "redirected_to_pickup_point", "handed_over")
