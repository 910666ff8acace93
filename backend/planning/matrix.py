"""Travel matrices: distance (m) and duration (s) between every pair of places, per vehicle kind.

Providers: `HaversineProvider` (the default: great-circle distance times a detour factor, and a
speed per vehicle kind), `OsrmProvider` (a real road network through OSRM's `/table` API) and
`PlanarProvider` (Euclidean on x/y, DIMACS rounding: the benchmark instances). `CachedProvider`
keeps the last matrices per set of places and kind, so re-plans of the same day reuse them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
import numpy as np

from backend.planning.problem import Place

EARTH_RADIUS_M = 6_371_008.8
# km/h per vehicle kind; LASTMILE_PLANNING_SPEEDS overrides (docs/planning.md).
DEFAULT_SPEEDS_KMH = {
    "van": 25.0,
    "car": 28.0,
    "truck": 22.0,
    "cargo_bike": 15.0,
    "bike": 15.0,
    "scooter": 22.0,
    "walk": 5.0,
}
FALLBACK_SPEED_KMH = 25.0


@dataclass(frozen=True, slots=True)
class Matrix:
    distance: np.ndarray  # int64 metres, [from, to]
    duration: np.ndarray  # int64 seconds, [from, to]


class MatrixProvider(Protocol):
    name: str

    async def matrix(self, places: Sequence[Place], kind: str) -> Matrix: ...


def speed_for(speeds: Mapping[str, float], kind: str) -> float:
    return speeds.get(kind, speeds.get("van", FALLBACK_SPEED_KMH))


def haversine_m(places: Sequence[Place]) -> np.ndarray:
    lon = np.radians(np.array([p.lon for p in places], dtype=np.float64))
    lat = np.radians(np.array([p.lat for p in places], dtype=np.float64))
    dlat = lat[None, :] - lat[:, None]
    dlon = lon[None, :] - lon[:, None]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class HaversineProvider:
    name = "haversine"

    def __init__(
        self, detour_factor: float = 1.3, speeds_kmh: Mapping[str, float] | None = None
    ) -> None:
        self.detour_factor = detour_factor
        self.speeds = dict(speeds_kmh or DEFAULT_SPEEDS_KMH)

    async def matrix(self, places: Sequence[Place], kind: str) -> Matrix:
        road = haversine_m(places) * self.detour_factor
        metres_per_second = speed_for(self.speeds, kind) / 3.6
        return Matrix(
            distance=np.rint(road).astype(np.int64),
            duration=np.rint(road / metres_per_second).astype(np.int64),
        )


class PlanarProvider:
    """Euclidean distance on (x, y) = (lon, lat), truncated to one decimal and scaled by 10
    (the DIMACS convention of the VRPTW benchmark instances); duration equals distance."""

    name = "planar"

    async def matrix(self, places: Sequence[Place], kind: str) -> Matrix:
        xy = np.array([(p.lon, p.lat) for p in places], dtype=np.float64)
        euclid = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
        scaled = (10 * euclid).astype(np.int64)
        return Matrix(distance=scaled, duration=scaled.copy())


class OsrmError(RuntimeError):
    """OSRM answered something other than a usable table."""


class OsrmProvider:
    """OSRM's `GET /table/v1/{profile}/{lon,lat;…}?annotations=distance,duration`.

    OSRM has one speed model per profile (its `car` profile for vans and cars); other kinds get
    OSRM's durations scaled by the ratio of our configured speeds, so a cargo bike on the same
    streets is slower by what `speeds_kmh` says. Unroutable pairs (null) become very long."""

    name = "osrm"
    UNROUTABLE = 10_000_000

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        speeds_kmh: Mapping[str, float] | None = None,
        timeout_s: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.speeds = dict(speeds_kmh or DEFAULT_SPEEDS_KMH)
        self.timeout_s = timeout_s
        self.client = client

    async def matrix(self, places: Sequence[Place], kind: str) -> Matrix:
        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in places)
        url = f"{self.base_url}/table/v1/{self.profile}/{coords}"
        params = {"annotations": "distance,duration"}
        if self.client is not None:
            response = await self.client.get(url, params=params, timeout=self.timeout_s)
        else:
            async with httpx.AsyncClient() as client:
                response = await client.get(url, params=params, timeout=self.timeout_s)
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if response.status_code != 200 or body.get("code") != "Ok":
            raise OsrmError(f"OSRM table failed: {response.status_code} {body.get('code')}")
        slower = speed_for(self.speeds, "van") / speed_for(self.speeds, kind)
        return Matrix(
            distance=_table(body["distances"], len(places), 1.0, self.UNROUTABLE),
            duration=_table(body["durations"], len(places), max(slower, 1e-6), self.UNROUTABLE),
        )


def _table(rows: list[list[float | None]], size: int, factor: float, missing: int) -> np.ndarray:
    if len(rows) != size or any(len(row) != size for row in rows):
        raise OsrmError("OSRM table has the wrong shape")
    values = np.array(
        [[missing if v is None else v * factor for v in row] for row in rows], dtype=np.float64
    )
    return np.rint(values).astype(np.int64)


class CachedProvider:
    """The last `size` matrices, keyed by provider, kind and the exact places (rounded to about
    a centimetre). Per process: the worker that solves is the one that reuses."""

    def __init__(self, inner: MatrixProvider, size: int = 16) -> None:
        self.inner = inner
        self.name = inner.name
        self.size = size
        self._cache: OrderedDict[bytes, Matrix] = OrderedDict()
        self.hits = 0

    async def matrix(self, places: Sequence[Place], kind: str) -> Matrix:
        key = _key(self.inner.name, kind, places)
        cached = self._cache.get(key)
        if cached is not None:
            self.hits += 1
            self._cache.move_to_end(key)
            return cached
        matrix = await self.inner.matrix(places, kind)
        self._cache[key] = matrix
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return matrix


def _key(provider: str, kind: str, places: Sequence[Place]) -> bytes:
    digest = hashlib.blake2b(f"{provider}|{kind}|".encode(), digest_size=20)
    digest.update(np.round(np.array([(p.lon, p.lat) for p in places]), 7).tobytes())
    return digest.digest()
