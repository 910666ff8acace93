"""Fixtures of the browser tests: empty tables, a real server, the admin signed in to it over
HTTP, and a headless Chromium page whose screenshot is saved as a test artifact."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from backend.db.session import make_engine, make_sessionmaker
from backend.system.jobs import PeriodicJobs
from tests.browser.support import ARTIFACTS, CHROMIUM, running_server
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, _truncate, make_settings
from tests.factories import Api


@pytest.fixture
async def server(db: asyncpg.Pool) -> AsyncIterator[str]:
    await _truncate(db)  # before the server starts: it creates the bootstrap admin
    with running_server() as url:
        yield url


@pytest.fixture
async def staff(server: str) -> AsyncIterator[Api]:
    """The admin, signed in to the real server (objects made here exist for the browser)."""
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield await Api.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
async def server_jobs(server: str) -> AsyncIterator[PeriodicJobs]:
    """The periodic jobs (ETAs, …) run by hand against the server's database."""
    settings = make_settings()
    engine = make_engine(settings)
    yield PeriodicJobs(make_sessionmaker(engine), settings)
    await engine.dispose()


@pytest.fixture
async def page(request: pytest.FixtureRequest, server: str):
    if CHROMIUM is None:
        pytest.skip("no chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = await browser.new_context(
            base_url=server, viewport={"width": 1400, "height": 1000}
        )
        page = await context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "response",
            lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.errors = errors  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
            await browser.close()
