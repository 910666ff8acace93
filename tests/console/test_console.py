"""`/console` and its board: files served under a strict CSP with cache headers, nothing read
outside `static/`, the map's tile setting, and the routes of a day with their progress."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.config import Settings, SettingsError
from backend.console.controller import content_security_policy
from backend.console.static import STATIC_DIR
from tests.conftest import make_settings
from tests.factories import Api
from tests.recipients.support import scene

LEAFLET = "vendor/leaflet-1.9.4/leaflet.js"
# Pinned in docs/console.md: the file as npm's leaflet@1.9.4 package ships it.
LEAFLET_SHA256 = "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a"


async def test_the_page_has_a_strict_csp_and_no_inline_script(api: Api) -> None:
    response = await api.client.get("/console", headers={"host": "console.example:8000"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "connect-src 'self' ws://console.example:8000 wss://console.example:8000;" in csp
    assert "frame-ancestors 'none'" in csp
    html = response.text
    assert "<script>" not in html and "http://" not in html and "https://" not in html
    assert '<script type="module" src="/console/static/js/main.js"></script>' in html


async def test_a_host_header_cannot_write_into_the_policy(api: Api) -> None:
    response = await api.client.get("/console", headers={"host": "evil; script-src *"})
    csp = response.headers.get("content-security-policy", "")
    assert "evil" not in csp and "script-src *" not in csp
    assert response.status_code == 400 or "connect-src 'self';" in csp


async def test_vendored_files_are_immutable_and_the_consoles_own_are_revalidated(
    api: Api,
) -> None:
    vendored = await api.client.get(f"/console/static/{LEAFLET}")
    assert vendored.status_code == 200
    assert vendored.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert vendored.headers["content-type"].startswith("text/javascript")
    assert hashlib.sha256(vendored.content).hexdigest() == LEAFLET_SHA256
    own = await api.client.get("/console/static/js/main.js")
    assert own.headers["cache-control"] == "no-cache"
    again = await api.client.get(
        "/console/static/js/main.js", headers={"if-none-match": own.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/../controller.py",
        "/console/static/%2e%2e/controller.py",
        "/console/static/..%2fcontroller.py",
        "/console/static/js/../../static.py",
        "/console/static/vendor/leaflet-1.9.4/LICENSE",  # not a type we serve
        "/console/static/.hidden.js",
        "/console/static/js",
        "/console/static/nothing.js",
        "/console/static/" + "a" * 5000 + ".js",
    ],
)
async def test_nothing_outside_the_static_files_is_served(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert response.status_code in (400, 404), path
    assert b"import" not in response.content and b"def " not in response.content


async def test_no_tiles_by_default_and_a_tile_server_joins_img_src(api: Api) -> None:
    config = (await api.client.get("/console/config.json")).json()
    assert config == {"tile_url": "", "tile_attribution": "", "live_path": "/v1/live"}
    settings = make_settings(
        map_tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        map_tile_attribution="© Example",
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        config = (await client.get("/console/config.json")).json()
        csp = (await client.get("/console")).headers["content-security-policy"]
    assert config["tile_url"] == "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    assert config["tile_attribution"] == "© Example"
    assert "img-src 'self' data: https://*.tiles.example.org;" in csp


@pytest.mark.parametrize(
    "url",
    [
        "ftp://tiles.example.org/{z}/{x}/{y}.png",
        "https://tiles.example.org/tile.png",
        "https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
        "https://tiles.example.org/{z}/{x}/{y}.png' 'unsafe-inline",
        "//tiles.example.org/{z}/{x}/{y}.png",
    ],
)
def test_a_tile_url_that_could_break_the_policy_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="LASTMILE_MAP_TILE_URL"):
        Settings.from_env({"LASTMILE_MAP_TILE_URL": url})


def test_a_tile_path_on_this_server_is_allowed() -> None:
    settings = Settings.from_env({"LASTMILE_MAP_TILE_URL": "/tiles/{z}/{x}/{y}.png"})
    assert settings.map_tile_url == "/tiles/{z}/{x}/{y}.png"


async def test_the_index_links_to_the_console(api: Api) -> None:
    links = (await api.client.get("/", headers={"accept": "application/json"})).json()["links"]
    assert links["console"] == "/console"


async def test_the_board_lists_routes_of_the_day_with_progress_and_stops(api: Api) -> None:
    s = await scene(api, stops=3)
    await s.load_and_start()
    await s.deliver(1)
    today = datetime.now(UTC).date().isoformat()
    response = await api.get("/v1/console/board", params={"date": today, "hub_id": s.hub["id"]})
    assert response.status_code == 200, response.text
    [route] = response.json()["items"]
    assert route["id"] == s.route["id"] and route["driver_name"] == s.driver["name"]
    assert (route["total"], route["done"], route["delivered"]) == (3, 1, 1)
    assert [stop["sequence"] for stop in route["stops"]] == sorted(
        stop["sequence"] for stop in route["stops"]
    )
    statuses = [stop["status"] for stop in route["stops"]]
    assert statuses == ["out_for_delivery", "delivered", "out_for_delivery"]
    first = route["stops"][0]
    assert first["shipment_id"] == s.shipments[0]["id"]
    assert first["location"] == s.shipments[0]["location"]
    assert first["tracking_number"] == s.shipments[0]["tracking_number"]


async def test_the_board_filters_by_day_and_hub_and_pages(api: Api) -> None:
    s = await scene(api, stops=1)
    today = datetime.now(UTC).date()
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    shipment = await api.shipment(hub["id"])
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=today.isoformat())
    await api.publish_route(route["id"])
    draft_shipment = await api.shipment(hub["id"])
    await api.route(driver["id"], hub["id"], [draft_shipment["id"]], date=today.isoformat())
    board = "/v1/console/board"
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert (await api.get(board, params={"date": tomorrow})).json()["items"] == []
    page = (await api.get(board, params={"date": today.isoformat(), "limit": 1})).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await api.get(board, params={"date": today.isoformat(), "cursor": page["next_cursor"]})
    ids = {page["items"][0]["id"], rest.json()["items"][0]["id"]}
    assert ids == {s.route["id"], route["id"]}  # drafts are not on the board
    assert rest.json()["next_cursor"] is None
    only = (await api.get(board, params={"hub_id": hub["id"]})).json()["items"]
    assert [r["id"] for r in only] == [route["id"]]
    unknown_hub = "01900000-0000-7000-8000-000000000000"
    assert (await api.get(board, params={"hub_id": unknown_hub})).json()["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": "2026-13-01"}, "date"),
        ({"date": "2026-12-01T10:00:00+02:00"}, "date"),
        ({"hub_id": "not-a-uuid"}, "hub_id"),
        ({"limit": "100000000000000000000"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"hub_id": "01900000-0000-7000-8000-00000000000\x00"}, "hub_id"),
    ],
)
async def test_bad_board_queries_are_422_naming_the_field(
    api: Api, params: dict[str, str], field: str
) -> None:
    response = await api.get("/v1/console/board", params=params)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_drivers_cannot_read_the_board(api: Api) -> None:
    s = await scene(api, stops=1)
    response = await s.handheld.api.get("/v1/console/board")
    assert response.status_code == 403
    assert (await api.client.get("/v1/console/board")).status_code == 401


def test_every_vendored_library_keeps_its_licence() -> None:
    for library in (STATIC_DIR / "vendor").iterdir():
        assert (library / "LICENSE").is_file(), library
        assert Path(library.name).name in (STATIC_DIR / "index.html").read_text()


@pytest.mark.parametrize("host", ["evil\n", "a;b", "a b", "a'", "", "a:b", "[::1]x"])
def test_only_a_plain_host_names_the_websocket_origin(host: str) -> None:
    csp = content_security_policy(make_settings(), host)
    assert "ws://" not in csp and "connect-src 'self';" in csp


def test_a_host_and_port_or_an_ipv6_literal_name_the_websocket_origin() -> None:
    assert "ws://127.0.0.1:8000 wss://127.0.0.1:8000;" in content_security_policy(
        make_settings(), "127.0.0.1:8000"
    )
    assert "ws://[::1]:8000 " in content_security_policy(make_settings(), "[::1]:8000")
