"""The dispatch console in headless Chromium against a real server: sign in, live positions,
KPI tiles, and the exceptions queue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, expect

from tests.browser.support import ARTIFACTS
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.factories import Api
from tests.recipients.support import Scene, scene
from tests.tracking.support import ping, send


async def sign_in(page: Page) -> None:
    await page.goto("/console")
    await page.get_by_label("Email").fill(ADMIN_EMAIL)
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("body[data-ready=true]")).to_be_attached()
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "open")


async def assert_no_errors(page: Page, staff: Api) -> None:
    """No script error and no failed request, except the queue's own 404 on a server without
    the incidents API (the page says so instead of failing)."""
    without_queue = (await staff.get("/v1/incidents")).status_code == 404
    errors = [
        e
        for e in page.errors  # type: ignore[attr-defined]
        if not (without_queue and e.startswith("404 ") and "/v1/incidents?" in e)
    ]
    assert errors == []


def driver_marker(page: Page, s: Scene):
    return page.locator(f'path.driver[data-driver-id="{s.driver["id"]}"]')


async def test_sign_in_shows_routes_and_a_driver_marker_moves_with_each_ping(
    page: Page, staff: Api
) -> None:
    s = await scene(staff, stops=3)
    await s.load_and_start()
    await send(s.handheld.api, [ping(5, lon=13.4000, lat=52.5000)])

    await sign_in(page)
    marker = driver_marker(page, s)
    await expect(marker).to_have_attribute("data-lat", "52.50000")
    row = page.locator(f'tr[data-route-id="{s.route["id"]}"]')
    await expect(row).to_contain_text("0/3")
    await expect(page.locator("path.stop[data-status=out_for_delivery]")).to_have_count(3)
    before = await marker.get_attribute("d")

    await send(s.handheld.api, [ping(0, lon=13.4100, lat=52.5100)])
    await expect(marker).to_have_attribute("data-lat", "52.51000")
    await expect(marker).to_have_attribute("data-lon", "13.41000")
    assert await marker.get_attribute("d") != before  # drawn somewhere else, not just relabelled
    await assert_no_errors(page, staff)


async def test_a_delivery_changes_the_kpi_tile_and_the_route_progress(
    page: Page, staff: Api
) -> None:
    s = await scene(staff, stops=2)
    await s.load_and_start()
    await sign_in(page)
    shipments = page.locator("[data-kpi=shipments] .value")
    await expect(shipments).to_have_text("\u2013")  # an en dash: nothing measured yet

    await s.deliver(0)
    await expect(shipments).to_have_text("1")
    await expect(page.locator("[data-kpi=first_attempt_success] .value")).to_have_text("100.0 %")
    await expect(page.locator(f'tr[data-route-id="{s.route["id"]}"]')).to_contain_text("1/2")
    await expect(page.locator("path.stop[data-status=delivered]")).to_have_count(1)
    await assert_no_errors(page, staff)


async def test_an_incident_is_acknowledged_then_resolved_from_the_queue(
    page: Page, staff: Api
) -> None:
    if (await staff.get("/v1/incidents")).status_code == 404:
        pytest.skip("this server has no incidents API (GET /v1/incidents answers 404)")
    s = await scene(staff, stops=1)
    await s.load_and_start()
    await sign_in(page)
    # Delivered 2 km from the delivery point: the proof of delivery opens a geofence incident.
    far = {"lon": 13.43, "lat": 52.50, "accuracy_m": 10}
    event = s.handheld.event(
        "delivered", 60, shipment_id=s.shipments[0]["id"], data={"handoff": "recipient"}
    )
    await s.handheld.push([event | {"location": far}])
    incident = page.locator("li.incident").first
    await expect(incident).to_have_attribute("data-status", "open")
    await expect(incident).to_contain_text("outside geofence")

    await incident.get_by_role("button", name="Acknowledge").click()
    await expect(incident).to_have_attribute("data-status", "acknowledged")
    incident_id = await incident.get_attribute("data-incident-id")
    await page.screenshot(path=ARTIFACTS / "incident-acknowledged.png", full_page=True)

    await incident.get_by_label("resolution").select_option("fixed")
    await incident.get_by_role("button", name="Resolve").click()
    await expect(page.locator(f'li.incident[data-incident-id="{incident_id}"]')).to_have_count(0)
    stored = (await staff.get(f"/v1/incidents/{incident_id}")).json()
    assert stored["status"] == "resolved" and stored["resolution_code"] == "fixed"
    assert datetime.fromisoformat(stored["resolved_at"]) <= datetime.now(UTC)
    await assert_no_errors(page, staff)
