"""The simulator's HTTP layer: any httpx.AsyncClient-compatible client plus a bearer token.

A real server is reached with `httpx.AsyncClient(base_url=...)`; a test passes Litestar's
`AsyncTestClient` (an httpx client too). Bodies are encoded with msgspec once, so the same
bytes can be sent again (a replayed batch must be byte-for-byte the same request).
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

JSON = {"content-type": "application/json"}


class ApiError(Exception):
    """An answer the caller did not expect; `status` 0 means the request never got one."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.method, self.path, self.status, self.body = method, path, status, body

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class ApiClient:
    """One identity (a token, or none) over a shared HTTP client. Signed in, it refreshes its
    short-lived access token when an answer says it expired, as a handheld app does."""

    def __init__(
        self, http: httpx.AsyncClient, token: str | None = None, refresh_token: str | None = None
    ) -> None:
        self.http = http
        self.token = token
        self.refresh_token = refresh_token
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    async def sign_in(self, email: str, password: str, device_id: str | None = None) -> ApiClient:
        body: dict[str, Any] = {"email": email, "password": password}
        if device_id:
            body["device_id"] = device_id
        data = await ApiClient(self.http).call("POST", "/v1/auth/token", body)
        return ApiClient(self.http, data["access_token"], data.get("refresh_token"))

    async def send(
        self,
        method: str,
        path: str,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """The raw response; transport failures propagate as httpx.TransportError."""
        response = await self._send(method, path, content, params)
        if response.status_code == 401 and self.refresh_token and _expired(response):
            await self._refresh()
            response = await self._send(method, path, content, params)
        return response

    async def _send(
        self, method: str, path: str, content: bytes | None, params: dict[str, Any] | None
    ) -> httpx.Response:
        headers = self.headers | JSON if content is not None else self.headers
        return await self.http.request(
            method, path, content=content, params=params, headers=headers
        )

    async def _refresh(self) -> None:
        body = {"refresh_token": self.refresh_token}
        data = await ApiClient(self.http).call("POST", "/v1/auth/refresh", body)
        self.token, self.refresh_token = data["access_token"], data["refresh_token"]
        self.headers = {"authorization": f"Bearer {self.token}"}

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Decoded JSON of a 2xx answer; anything else raises ApiError."""
        content = None if body is None else msgspec.json.encode(body)
        response = await self.send(method, path, content, params)
        data = decode(response)
        if not 200 <= response.status_code < 300:
            raise ApiError(method, path, response.status_code, data)
        return data


def _expired(response: httpx.Response) -> bool:
    body = decode(response)
    return isinstance(body, dict) and body.get("code") == "invalid_token"


def decode(response: httpx.Response) -> Any:
    try:
        return msgspec.json.decode(response.content) if response.content else None
    except msgspec.DecodeError:
        return response.text
