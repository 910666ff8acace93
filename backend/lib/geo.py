"""GeoJSON (RFC 7946) at the boundary, PostGIS inside; the only place that knows lon/lat order.

Structs validate shape and ranges while decoding, so a bad value is reported with its path
(`location.coordinates`). Polygon validity (self-intersection, unclosed rings) is checked with
GEOS through shapely, the same engine PostGIS uses.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Any

import msgspec
import shapely
from geoalchemy2 import WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from litestar.openapi.spec import OpenAPIType, Schema
from msgspec import Meta
from sqlalchemy import ColumnElement, func

SRID = 4326
# [longitude, latitude]. RFC 7946 allows an altitude third; we refuse it everywhere rather than
# drop it silently (nothing here has a use for it): docs/input-limits.md.
# Litestar converts request bodies leniently, turning "13.4" into 13.4 for a `float`. Typed
# `float | str`, a string stays a string and `_check_position` refuses it; the schema still
# documents numbers.
Position = Annotated[
    list[float | str],
    Meta(
        min_length=2,
        max_length=2,
        extra_json_schema={
            "description": "[longitude, latitude]",
            "extra": {"items": Schema(type=OpenAPIType.NUMBER)},
        },
    ),
]
EARTH_RADIUS_KM = 6371.0088


def _check_position(position: list[float | str]) -> None:
    lon, lat = position[0], position[1]
    if isinstance(lon, str) or isinstance(lat, str):
        raise ValueError("coordinates are JSON numbers, not strings")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside [-90, 90]")


class Point(msgspec.Struct, tag_field="type", tag="Point", forbid_unknown_fields=True):
    coordinates: Position

    def __post_init__(self) -> None:
        _check_position(self.coordinates)

    @property
    def lon(self) -> float:
        return float(self.coordinates[0])  # a number: strings never pass `_check_position`

    @property
    def lat(self) -> float:
        return float(self.coordinates[1])

    @classmethod
    def at(cls, lon: float, lat: float) -> Point:
        return cls(coordinates=[lon, lat])


Ring = Annotated[list[Position], Meta(min_length=4)]


def _check_rings(rings: list[list[list[float]]]) -> None:
    for ring in rings:
        if ring[0] != ring[-1]:
            raise ValueError("a linear ring must end where it starts")
        for position in ring:
            _check_position(position)
        _check_antimeridian(ring)


def _check_antimeridian(ring: list[list[float]]) -> None:
    """An edge spanning more than 180° of longitude means the shape crosses the antimeridian;
    read literally it would wrap the other way round the world (358° wide, not 2°)."""
    for (lon1, _), (lon2, _) in itertools.pairwise(ring):
        if abs(lon2 - lon1) > 180:
            raise ValueError(
                f"an edge from longitude {lon1} to {lon2} crosses the antimeridian: cut the "
                "shape at ±180° into a MultiPolygon (RFC 7946 §3.1.9)"
            )


class Polygon(msgspec.Struct, tag_field="type", tag="Polygon", forbid_unknown_fields=True):
    coordinates: Annotated[list[Ring], Meta(min_length=1)]

    def __post_init__(self) -> None:
        _check_rings(self.coordinates)
        _check_valid(self)


class MultiPolygon(
    msgspec.Struct, tag_field="type", tag="MultiPolygon", forbid_unknown_fields=True
):
    coordinates: Annotated[list[Annotated[list[Ring], Meta(min_length=1)]], Meta(min_length=1)]

    def __post_init__(self) -> None:
        for polygon in self.coordinates:
            _check_rings(polygon)
        _check_valid(self)


Area = Polygon | MultiPolygon


def _check_valid(geometry: Polygon | MultiPolygon) -> None:
    shape = shapely.geometry.shape(msgspec.to_builtins(geometry))
    if not shape.is_valid:
        raise ValueError(f"invalid polygon: {shapely.is_valid_reason(shape)}")


def area_km2(geometry: Polygon | MultiPolygon) -> float:
    """The area on a spherical Earth (holes subtracted), the same way PostGIS's spherical
    `ST_Area(geography, false)` computes it, to well under 1 % of the ellipsoid's."""
    polygons = [geometry.coordinates] if isinstance(geometry, Polygon) else geometry.coordinates
    return sum(
        abs(_ring_area(rings[0])) - sum(abs(_ring_area(hole)) for hole in rings[1:])
        for rings in polygons
    )


def _ring_area(ring: list[list[float]]) -> float:
    """Signed spherical area of a closed ring (Chamberlain & Duquette, 2007)."""
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(ring):
        total += math.radians(lon2 - lon1) * (
            2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
        )
    return total * EARTH_RADIUS_KM**2 / 2


def to_db(geometry: Point | Polygon | MultiPolygon) -> WKTElement:
    """A PostGIS value (EWKT, SRID 4326) for a geometry or geography column."""
    shape = shapely.geometry.shape(msgspec.to_builtins(geometry))
    return WKTElement(shape.wkt, srid=SRID)


def point_to_db(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon} {lat})", srid=SRID)


def point_sql(lon: float, lat: float) -> ColumnElement[Any]:
    """A geometry point expression for queries (`ST_Contains`, `ST_DWithin`, KNN)."""
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)


def point_from_db(value: WKBElement | None) -> Point | None:
    if value is None:
        return None
    shape = to_shape(value)
    return Point.at(shape.x, shape.y)


def area_from_db(value: WKBElement) -> Polygon | MultiPolygon:
    data: dict[str, Any] = shapely.geometry.mapping(to_shape(value))
    return msgspec.convert(_listify(data), Area)


def _listify(value: Any) -> Any:
    """shapely's mapping uses tuples; GeoJSON wants arrays."""
    if isinstance(value, dict):
        return {key: _listify(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_listify(item) for item in value]
    return value
