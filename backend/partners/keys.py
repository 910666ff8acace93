"""Organisations' API keys: `lmk_<prefix>_<secret>`, bearer tokens beside the signed user tokens.

The prefix finds the row (unique index); the secret is compared by its SHA-256 (a key is 32
random bytes, so a slow password hash would add nothing but latency to every call). A revoked,
expired or deactivated organisation's key stops working on the next request: nothing is cached.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.auth.schemas import Principal
from backend.db.session import unit_of_work
from backend.lib.clock import utcnow
from backend.partners.models import SHIPPER
from backend.partners.repository import PartnerRepository

KEY_PREFIX = "lmk_"
# `last_used_at` is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def new_key() -> tuple[str, str, bytes]:
    """(the key as shown once, its lookup prefix, the hash stored)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{prefix}_{secret}", prefix, secret_hash(secret)


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_key(token: str) -> tuple[str, str] | None:
    prefix, sep, secret = token.removeprefix(KEY_PREFIX).partition("_")
    if not sep or len(prefix) != 12 or not secret or len(secret) > 100:
        return None
    return prefix, secret


def role_for(kind: str) -> str:
    return "shipper" if kind == SHIPPER else "carrier"


async def principal_for_key(
    sessionmaker: async_sessionmaker[AsyncSession], token: str
) -> Principal | None:
    """The organisation's principal for a live key, or None."""
    parts = split_key(token)
    if parts is None:
        return None
    prefix, secret = parts
    now = utcnow()
    async with unit_of_work(sessionmaker) as session:
        repo = PartnerRepository(session)
        row = await repo.live_key(prefix, now)
        if row is None or not hmac.compare_digest(row.secret_hash, secret_hash(secret)):
            return None
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            await repo.touch_key(row.id, now)
    return Principal(
        user_id=row.id,
        role=role_for(row.kind),  # type: ignore[arg-type]
        organization_id=row.organization_id,
        scopes=frozenset(row.scopes),
    )


def rate_limit_subject(principal: Principal) -> str:
    """What a per-caller rate limit counts against: each API key on its own (`key:<id>`), so a
    partner's keys share nothing with its other keys or with users; users by their id. The
    limiter itself (limits per route, 429 + Retry-After) lives with the other limits."""
    if principal.organization_id:
        return f"key:{principal.user_id}"
    return f"user:{principal.user_id}"
