"""Signing in with the whole token response at hand (refresh token, session)."""

from typing import Any

from litestar.testing import AsyncTestClient

from tests.factories import Api


async def tokens_for(
    client: AsyncTestClient, email: str, password: str, device_id: str | None = None
) -> dict[str, Any]:
    body = {"email": email, "password": password} | ({"device_id": device_id} if device_id else {})
    response = await client.post("/v1/auth/token", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def bearer(client: AsyncTestClient, tokens: dict[str, Any]) -> Api:
    return Api(client, tokens["access_token"], tokens["role"])


async def refresh(client: AsyncTestClient, refresh_token: str):
    return await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
