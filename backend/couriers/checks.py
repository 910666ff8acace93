"""Background checks through a provider, results through a signed callback.

A provider gets `start(request)` from the outbox worker once the check is committed, and later
answers at `POST /v1/courier-checks/{check_id}/result`, signed the Standard Webhooks way
(`webhook-id`, `webhook-timestamp`, `webhook-signature`, a `whsec_` secret). The callback is
verified with the public `standardwebhooks` library: a bad or stale signature is 401 and changes
nothing.

`local` (the default, for development) decides at once and answers through that same signed
callback over real HTTP: `clear`, unless the applicant's email carries `+check-consider` or
`+check-failed` (so a failed check can be tried by hand). A real provider is a `module:factory`
path in `LASTMILE_COURIER_CHECKS_PROVIDER`; the factory gets the settings.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import httpx
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from backend.config import Settings
from backend.lib.errors import Unauthorized
from backend.lib.ids import uuid7

CHECKS_KEY = "couriers.checks"
log = logging.getLogger("lastmile.couriers")


@dataclass(frozen=True, slots=True)
class CheckRequest:
    check_id: UUID
    application_id: UUID
    name: str
    email: str
    vehicle_kind: str
    callback_url: str


class CheckProvider(Protocol):
    name: str

    async def start(self, request: CheckRequest) -> None:
        """Begin the check; the result comes later to `request.callback_url`. Raising makes
        the outbox try again with backoff."""
        ...


class LocalCheckProvider:
    name = "local"

    def __init__(self, secret: str, timeout: float = 10.0) -> None:
        self.secret = secret
        self.timeout = timeout

    async def start(self, request: CheckRequest) -> None:
        outcome = "clear"
        for candidate in ("consider", "failed"):
            if f"+check-{candidate}@" in request.email:
                outcome = candidate
        body = msgspec.json.encode(
            {"check_id": str(request.check_id), "status": outcome, "reference": "local"}
        )
        headers = signed_headers(self.secret, body) | {"content-type": "application/json"}
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(request.callback_url, content=body, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"check callback answered {response.status_code}")


@dataclass(frozen=True, slots=True)
class CourierChecks:
    """The process's provider and where it must answer."""

    provider: CheckProvider
    public_url: str

    def callback_url(self, check_id: UUID) -> str:
        return f"{self.public_url.rstrip('/')}/v1/courier-checks/{check_id}/result"


def load_checks(settings: Settings) -> CourierChecks:
    spec = settings.courier_checks_provider
    if spec == "local":
        provider: CheckProvider = LocalCheckProvider(settings.courier_checks_secret)
    else:
        module_name, _, factory_name = spec.partition(":")
        if not module_name or not factory_name:
            raise ValueError(f"checks provider must be 'local' or 'module:factory', not {spec!r}")
        provider = getattr(importlib.import_module(module_name), factory_name)(settings)
    return CourierChecks(provider, settings.public_base_url)


def checks_for(session: AsyncSession) -> CourierChecks | None:
    return session.info.get(CHECKS_KEY)


def signed_headers(secret: str, body: bytes, *, at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body` (a fresh message id each call)."""
    message_id = f"msg_{uuid7().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def verify_callback(secret: str, body: bytes, headers: dict[str, str]) -> str:
    """The message id of a correctly signed, fresh callback; 401 otherwise."""
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except Exception:  # the library raises ValueError, binascii.Error, … on malformed headers
        raise Unauthorized(
            "The callback's signature is missing, wrong or stale", code="bad_signature"
        ) from None
    return headers["webhook-id"]
