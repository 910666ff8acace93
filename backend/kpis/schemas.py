from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.kpis.definitions import Kpi

Bound = Annotated[float, Meta(ge=-1e12, le=1e12)]


class CostModel(msgspec.Struct):
    currency: str
    per_km: float
    per_driver_hour: float
    per_partner_parcel: float


class KpiRow(msgspec.Struct):
    """One group's figures; a rate or percentile with nothing to measure is null."""

    key: str | None
    shipments: int
    parcels: int
    on_time_rate: float | None
    first_attempt_success: float | None
    attempts_per_parcel: float | None
    diversion_frequency: float | None
    dwell_p50_seconds: float | None
    dwell_p90_seconds: float | None
    partner_report_lag_p50_seconds: float | None
    partner_report_lag_p90_seconds: float | None
    cost_per_parcel: float | None
    incidents_opened: int
    incident_resolve_p50_seconds: float | None


ROW_FIELDS = KpiRow.__struct_fields__


class KpiReport(msgspec.Struct):
    from_day: date = msgspec.field(name="from")
    to_day: date = msgspec.field(name="to")
    group_by: str = "day"
    hub_id: UUID | None = None
    cost_model: CostModel | None = None
    rows: list[KpiRow] = msgspec.field(default_factory=list)


class KpiTargetWrite(msgspec.Struct, forbid_unknown_fields=True):
    """Bounds of a KPI for a hub: outside [min, max] opens an incident. One may be left out.

    Typed `| str` only because Litestar converts bodies leniently ("0.9" would become 0.9):
    a string stays a string here and is refused.
    """

    min: Bound | str | None = None
    max: Bound | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.min, str) or isinstance(self.max, str):
            raise ValueError("bounds are JSON numbers, not strings")

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        return _number(self.min), _number(self.max)


def _number(value: float | str | None) -> float | None:
    return None if value is None else float(value)  # never a str: __post_init__ refused it


class KpiTargetRead(msgspec.Struct):
    hub_id: UUID
    kpi: Kpi
    min: float | None
    max: float | None
    updated_at: datetime


class KpiTargetList(msgspec.Struct):
    items: list[KpiTargetRead]


class TargetCheck(msgspec.Struct):
    """What one run of the target check did."""

    hubs: int
    opened: int
    still_open: int
    resolved: int
