"""The `/t/{token}` page: rendered, self-contained, usable without script, and checked in a
real headless Chromium against a real server."""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.support import free_port, wait_until_up
from tests.conftest import TEST_URL, make_settings
from tests.factories import Api
from tests.recipients.support import scene

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _tomorrow() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


async def test_the_page_shows_status_history_and_options_with_no_external_assets(
    api: Api,
) -> None:
    s = await scene(api, stops=1)
    response = await api.client.get(f"/t/{s.token(0)}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    html = response.text
    assert "waiting to receive it" in html
    assert "We received the parcel&#x27;s details from the sender." in html
    assert 'name="viewport"' in html
    assert "Choose another day" in html and "Leave it at a safe place" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html


async def test_a_form_post_records_the_instruction_and_redirects(api: Api, db) -> None:
    s = await scene(api, stops=6)
    response = await api.client.post(
        f"/t/{s.token(5)}",
        data={"type": "reschedule", "date": _tomorrow()},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/t/{s.token(5)}?done=1"
    page = (await api.client.get(response.headers["location"])).text
    assert "Thank you" in page and "You asked for delivery on" in page
    assert await db.fetchval("SELECT count(*) FROM shipment_events WHERE type = 'rescheduled'") == 1


async def test_a_refused_form_post_explains_why(api: Api) -> None:
    s = await scene(api, stops=1, requirements={"signature": True})
    response = await api.client.post(
        f"/t/{s.token(0)}", data={"type": "safe_drop", "location_note": "porch"}
    )
    assert response.status_code == 409
    assert "cannot be left" in response.text
    response = await api.client.post(f"/t/{s.token(0)}", data={"type": "reschedule"})
    assert response.status_code == 422
    assert "Please fill in the form." in response.text


async def test_an_unknown_token_is_a_404_page(api: Api) -> None:
    response = await api.client.get("/t/unknown-token")
    assert response.status_code == 404
    assert "We cannot find this parcel" in response.text


@pytest.fixture
def server() -> str:
    """A real uvicorn serving the app on a free loopback port, against the test database."""
    port = free_port()
    settings = make_settings()
    env = os.environ | {
        "LASTMILE_DATABASE_URL": TEST_URL,
        "LASTMILE_SECRET_KEY": settings.secret_key,
        "LASTMILE_EMBEDDED_WORKER": "false",
        "LASTMILE_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process, time.monotonic() + 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
async def test_headless_chromium_loads_the_page_and_shows_the_status(api: Api, server: str) -> None:
    s = await scene(api, stops=1)
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            f"{server}/t/{s.token(0)}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, err.decode()[-2000:]
    dom = out.decode()
    assert "<h1>We have your parcel's details and are waiting to receive it.</h1>" in dom
    assert s.shipments[0]["tracking_number"] in dom
