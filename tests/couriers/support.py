"""Applicants and couriers built through the real API, step by step."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from typing import Any

import asyncpg
import msgspec

from backend.config import DEV_CHECKS_SECRET
from backend.couriers.checks import signed_headers
from backend.couriers.requirements import DEFAULT_REQUIREMENTS
from tests.factories import Api
from tests.pod.support import blob_bytes, sha, upload

_counter = itertools.count(1)
NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def application_body(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    return {
        "name": f"Courier {n}",
        "email": f"courier{n}@test.lastmile",
        "phone": "+49 30 5550000",
        "password": "courier-password",
        "city": "Berlin",
        "vehicle": {"kind": "bike", "capacity_parcels": 20, "capacity_kg": 30},
        "availability": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(1, 8)],
    } | overrides


class Applicant(Api):
    """An API client holding an applicant token, and the application it reaches."""

    def __init__(self, client, token: str, application_id: str, body: dict[str, Any]) -> None:
        super().__init__(client, token, "applicant")
        self.token = token
        self.id = application_id
        self.body = body

    @property
    def path(self) -> str:
        return f"/v1/courier-applications/{self.id}"

    async def code(self, db: asyncpg.Pool) -> str:
        body = await db.fetchval(
            "SELECT body FROM courier_messages WHERE application_id = $1 AND kind = 'email_code'"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            self.id,
        )
        return re.search(r"\b(\d{6})\b", body).group(1)

    async def verify(self, db: asyncpg.Pool) -> None:
        response = await self.post(f"{self.path}/verify-email", {"code": await self.code(db)})
        assert response.status_code == 200, response.text

    async def document(self, kind: str, expires_on: str | None = NEXT_YEAR) -> dict[str, Any]:
        data = blob_bytes("application/pdf")
        stored = await upload(self, data, "application/pdf")
        assert stored.status_code == 201, stored.text
        body = {"kind": kind, "blob_sha256": sha(data)}
        if expires_on:
            body["expires_on"] = expires_on
        return await self.created(f"{self.path}/documents", body)

    async def all_documents(self) -> None:
        for kind in DEFAULT_REQUIREMENTS[self.body["vehicle"]["kind"]]:
            await self.document(kind)

    async def submit(self) -> dict[str, Any]:
        response = await self.post(f"{self.path}/submit")
        assert response.status_code == 200, response.text
        return response.json()


async def apply(client, **overrides: Any) -> Applicant:
    body = application_body(**overrides)
    response = await client.post("/v1/courier-applications", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return Applicant(client, data["applicant_token"], data["id"], body)


async def submitted(client, db: asyncpg.Pool, **overrides: Any) -> Applicant:
    applicant = await apply(client, **overrides)
    await applicant.verify(db)
    await applicant.all_documents()
    await applicant.submit()
    return applicant


async def staff_post(api: Api, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
    response = await api.post(path, body)
    assert response.status_code == status, response.text
    return response.json()


async def post_result(client, check_id: str, status: str = "clear", **header_overrides: str):
    body = msgspec.json.encode({"check_id": check_id, "status": status})
    headers = signed_headers(DEV_CHECKS_SECRET, body) | {"content-type": "application/json"}
    return await client.post(
        f"/v1/courier-checks/{check_id}/result", content=body, headers=headers | header_overrides
    )


async def checked(api: Api, applicant: Applicant, status: str = "clear") -> dict[str, Any]:
    """submitted -> under_review -> checks_pending, and the check's signed result."""
    await staff_post(api, f"{applicant.path}/start-review")
    read = await staff_post(api, f"{applicant.path}/checks")
    check_id = read["checks"][-1]["id"]
    response = await post_result(api.client, check_id, status)
    assert response.status_code == 200, response.text
    return read


async def active_courier(
    api: Api, db: asyncpg.Pool, hub_id: str, **overrides: Any
) -> tuple[Applicant, dict[str, Any]]:
    """An approved, active courier; returns the applicant and the application read."""
    applicant = await submitted(api.client, db, **overrides)
    await checked(api, applicant)
    read = await staff_post(api, f"{applicant.path}/approve", {"home_hub_id": hub_id})
    assert read["status"] == "active", read
    return applicant, read


async def sign_in_courier(api: Api, applicant: Applicant, device_id: str = "courier-phone") -> Api:
    return await Api.sign_in(api.client, applicant.body["email"], "courier-password", device_id)
