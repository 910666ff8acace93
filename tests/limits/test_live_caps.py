"""Caps on live connections per tracking token, per account and per process, through a real
uvicorn process (SSE and WebSocket need a real server)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from backend.bench.server import api_process
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.live.servers import SseReader, ws_url


def env(**limits: str) -> dict[str, str]:
    settings = make_settings()
    return {
        "LASTMILE_DATABASE_URL": settings.plain_database_url,
        "LASTMILE_SECRET_KEY": settings.secret_key,
        "LASTMILE_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "LASTMILE_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LASTMILE_CHANNELS_BACKEND": "postgres",
        "LASTMILE_EMBEDDED_WORKER": "false",
        "LASTMILE_DB_POOL_SIZE": "4",
        "LASTMILE_RATE_LIMIT_ACCOUNT": "off",
        "LASTMILE_RATE_LIMIT_SIGN_IN_ADDRESS": "off",
    } | {f"LASTMILE_{name.upper()}": value for name, value in limits.items()}


@contextlib.asynccontextmanager
async def stream(http: httpx.AsyncClient, token: str) -> AsyncIterator[httpx.Response]:
    async with http.stream("GET", f"/v1/track/{token}/stream") as response:
        reader = None  # held while open: a collected reader closes its response
        if response.status_code == 200:
            reader = SseReader(response)
            await reader.opened()
        else:
            await response.aread()
        yield response
        del reader


async def open_streams(http: httpx.AsyncClient, tokens: list[str], held: contextlib.AsyncExitStack):
    return [await held.enter_async_context(stream(http, token)) for token in tokens]


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert int(response.headers["retry-after"]) >= 1


async def until_released(http: httpx.AsyncClient, token: str) -> httpx.Response:
    """A closed stream's slot is handed back once the server notices the client went."""
    for _ in range(100):
        async with stream(http, token) as response:
            if response.status_code == 200:
                return response
        await asyncio.sleep(0.1)
    pytest.fail("the slot of a closed stream was never released")


async def test_streams_and_feeds_are_capped_per_key_and_per_process(api) -> None:
    hub = await api.hub()
    a, b = [(await api.shipment(hub["id"]))["tracking_token"] for _ in range(2)]
    limits = env(live_max_connections="3", live_max_connections_per_key="2")
    with api_process(limits | {"LASTMILE_RATE_LIMIT_STREAMS": "off"}, keep_log=False) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            signed_in = await http.post(
                "/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            token = signed_in.json()["access_token"]
            async with contextlib.AsyncExitStack() as held:
                await open_streams(http, [a, a], held)
                async with stream(http, a) as third:
                    refused(third, 429, "too_many_connections")
                await open_streams(http, [b], held)
                async with stream(http, b) as full:
                    refused(full, 503, "service_busy")
                with pytest.raises(InvalidStatus) as feed:
                    async with connect(ws_url(server, token)):
                        pass
                assert feed.value.response.status_code == 503
                assert feed.value.response.headers["retry-after"]
            assert (await until_released(http, a)).status_code == 200
            async with connect(ws_url(server, token)), connect(ws_url(server, token)):
                with pytest.raises(InvalidStatus) as feed:
                    async with connect(ws_url(server, token)):
                        pass
                assert feed.value.response.status_code == 429


async def test_opening_streams_is_rate_limited_per_token(api) -> None:
    hub = await api.hub()
    a, b = [(await api.shipment(hub["id"]))["tracking_token"] for _ in range(2)]
    with api_process(env(rate_limit_streams="3/1m"), keep_log=False) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            for _ in range(3):
                async with stream(http, a) as response:
                    assert response.status_code == 200
            async with stream(http, a) as response:
                refused(response, 429, "rate_limited")
                assert 15 <= int(response.headers["retry-after"]) <= 20
            async with stream(http, b) as response:
                assert response.status_code == 200
            unknown = await http.get("/v1/track/no-such-token/stream")
            assert unknown.status_code == 404
