"""Matrix providers: haversine by default, OSRM's `/table` against a local stand-in server that
speaks its API, and the cache per set of places."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from backend.planning.matrix import (
    CachedProvider,
    HaversineProvider,
    OsrmError,
    OsrmProvider,
    haversine_m,
)
from backend.planning.problem import Place

BERLIN = [Place(13.40, 52.50), Place(13.41, 52.50), Place(13.40, 52.51)]


class OsrmStandIn(BaseHTTPRequestHandler):
    """Answers `GET /table/v1/{profile}/{coords}?annotations=distance,duration` the way OSRM
    does: straight-line distance x 1.5 as 'road' metres, at 36 km/h; a `null` for pairs
    touching longitude 0 (unroutable), and `InvalidQuery` for a malformed coordinate list."""

    calls: list[str] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        type(self).calls.append(url.path)
        parts = url.path.split("/")
        if len(parts) != 5 or parts[1] != "table" or parts[2] != "v1":
            return self._send(400, {"code": "InvalidUrl"})
        try:
            coords = [tuple(map(float, pair.split(","))) for pair in parts[4].split(";")]
        except ValueError:
            return self._send(400, {"code": "InvalidQuery"})
        annotations = parse_qs(url.query).get("annotations", ["duration"])[0].split(",")
        places = [Place(lon, lat) for lon, lat in coords]
        road = haversine_m(places) * 1.5
        distances = [
            [None if 0.0 in (a.lon, b.lon) else float(road[i, j]) for j, b in enumerate(places)]
            for i, a in enumerate(places)
        ]
        durations = [[None if d is None else d / 10.0 for d in row] for row in distances]
        body: dict = {"code": "Ok"}
        if "distance" in annotations:
            body["distances"] = distances
        if "duration" in annotations:
            body["durations"] = durations
        self._send(200, body)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osrm() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OsrmStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    OsrmStandIn.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_haversine_distance_times_detour_and_speed_per_kind():
    provider = HaversineProvider(detour_factor=1.3, speeds_kmh={"van": 36.0, "bike": 18.0})
    van = await provider.matrix(BERLIN, "van")
    bike = await provider.matrix(BERLIN, "bike")
    # 0.01 degree of longitude at 52.5 N is about 677 m.
    assert 670 * 1.3 < van.distance[0, 1] < 685 * 1.3
    assert van.duration[0, 1] == pytest.approx(van.distance[0, 1] / 10, abs=1)
    assert bike.duration[0, 1] == pytest.approx(2 * van.duration[0, 1], abs=2)
    assert (np.diag(van.distance) == 0).all()


async def test_osrm_table_is_read_from_a_server_speaking_its_api(osrm):
    provider = OsrmProvider(osrm, speeds_kmh={"van": 25.0, "cargo_bike": 12.5})
    van = await provider.matrix(BERLIN, "van")
    straight = haversine_m(BERLIN)
    assert van.distance[0, 1] == round(straight[0, 1] * 1.5)
    assert van.duration[0, 1] == round(straight[0, 1] * 1.5 / 10)
    bike = await provider.matrix(BERLIN, "cargo_bike")  # half the speed: twice the time
    assert bike.duration[0, 1] == pytest.approx(2 * van.duration[0, 1], abs=1)
    assert OsrmStandIn.calls[0].startswith("/table/v1/driving/13.400000,52.500000;")


async def test_osrm_unroutable_pairs_become_very_long(osrm):
    van = await OsrmProvider(osrm).matrix([Place(13.4, 52.5), Place(0.0, 51.5)], "van")
    assert van.distance[0, 1] == OsrmProvider.UNROUTABLE


async def test_osrm_errors_are_reported_not_guessed(osrm):
    with pytest.raises(OsrmError):
        await OsrmProvider(osrm + "/nothing-here").matrix(BERLIN, "van")


async def test_matrices_are_cached_per_set_of_places_and_kind(osrm):
    provider = CachedProvider(OsrmProvider(osrm))
    first = await provider.matrix(BERLIN, "van")
    again = await provider.matrix(list(BERLIN), "van")
    assert again is first and provider.hits == 1
    await provider.matrix(BERLIN[:2], "van")
    await provider.matrix(BERLIN, "cargo_bike")
    assert len(OsrmStandIn.calls) == 3
