"""The recipient's tracking page in headless Chromium against a real server: the running-late
note and the driver on the page's map, with no script and nothing fetched from elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from backend.system.jobs import PeriodicJobs
from tests.factories import Api
from tests.recipients.support import scene
from tests.tracking.support import ping, send


async def test_the_page_shows_the_late_note_and_the_driver_on_its_map(
    page: Page, staff: Api, server: str, server_jobs: PeriodicJobs
) -> None:
    ended = datetime.now(UTC) - timedelta(hours=1)
    window = {"start": (ended - timedelta(hours=2)).isoformat(), "end": ended.isoformat()}
    s = await scene(staff, stops=2, window=window)
    await s.load_and_start()
    await send(s.handheld.api, [ping(5, 13.395, 52.50)])
    await server_jobs.refresh_etas()

    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(f"/t/{s.token(1)}")
    await expect(page.get_by_role("status")).to_contain_text("Running late.")
    marker = page.locator("svg.map g.driver circle")
    await expect(marker).to_be_visible()
    box = await marker.bounding_box()
    frame = await page.locator("svg.map").bounding_box()
    assert box is not None and frame is not None
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
    await expect(page.locator("text=Expected between")).to_be_visible()
    loaded = [url for url in requests if not url.endswith("/favicon.ico")]
    assert loaded == [f"{server}/t/{s.token(1)}"]  # one document, nothing else loaded
    assert page.errors == []  # type: ignore[attr-defined]
