"""The tracking wire format: pings in, GeoJSON out (RFC 7946, `[lon, lat]`)."""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Point

DeviceId = Annotated[str, Meta(min_length=1, max_length=128)]


class PingIn(msgspec.Struct, forbid_unknown_fields=True):
    """Where the driver was: compact `lon` and `lat`, or `location` as a GeoJSON Point (the form
    the rest of the API speaks). Read `lon` and `lat` whichever form arrived."""

    at: datetime
    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    location: Point | None = None
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)] | None = None
    speed_mps: Annotated[float, Meta(ge=0, le=150)] | None = None
    heading: Annotated[float, Meta(ge=0, lt=360)] | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("at needs a UTC offset (RFC 3339)")
        try:
            self.at.astimezone(UTC)
        except OverflowError:
            raise ValueError("at is outside the years 1 to 9999 in UTC") from None
        compact = self.lon is not None or self.lat is not None
        if self.location is None and (self.lon is None or self.lat is None):
            raise ValueError("lon and lat are required (or location as a GeoJSON Point)")
        if self.location is not None:
            if compact:
                raise ValueError("either lon and lat, or location, not both")
            if len(self.location.coordinates) > 2:
                raise ValueError("location: [lon, lat] only, an altitude would not be kept")
            self.lon, self.lat = self.location.lon, self.location.lat


class PingBatch(msgspec.Struct, forbid_unknown_fields=True):
    device_id: DeviceId
    pings: Annotated[list[PingIn], Meta(min_length=1)]


class PingResult(msgspec.Struct):
    """`accepted` were stored now; `duplicates` were stored before (same driver and time);
    `ignored` fall outside the kept time range (older than retention, or in the future)."""

    accepted: int
    duplicates: int
    ignored: int


class PositionProperties(msgspec.Struct):
    driver_id: UUID
    driver_name: str
    device_id: str
    at: datetime
    received_at: datetime
    accuracy_m: float | None
    speed_mps: float | None
    heading: float | None
    age_seconds: int
    stale: bool


class PositionFeature(msgspec.Struct):
    id: UUID
    geometry: Point
    properties: PositionProperties
    type: Literal["Feature"] = "Feature"


class PositionCollection(msgspec.Struct):
    features: list[PositionFeature]
    stale_after_seconds: int
    type: Literal["FeatureCollection"] = "FeatureCollection"


class LineString(msgspec.Struct, tag_field="type", tag="LineString"):
    coordinates: list[list[float]]


class TrackProperties(msgspec.Struct, rename={"start": "from", "end": "to"}):
    driver_id: UUID
    start: datetime
    end: datetime
    points: int
    times: list[datetime]
    truncated: bool


class TrackFeature(msgspec.Struct):
    """`geometry` is null with fewer than two fixes (a LineString needs two positions)."""

    geometry: LineString | None
    properties: TrackProperties
    type: Literal["Feature"] = "Feature"
