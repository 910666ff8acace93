"""Signed, short-lived access tokens (HS256 JWT) carrying the caller's role, bindings and session,
and the opaque refresh tokens that get the next one."""

import hashlib
import secrets
import time
from datetime import timedelta
from functools import lru_cache
from uuid import UUID

import jwt

from backend.auth.schemas import Principal
from backend.lib.clock import utcnow

ALGORITHM = "HS256"


def issue_token(principal: Principal, secret_key: str, ttl_seconds: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(principal.user_id),
        "role": principal.role,
        "sid": str(principal.session_id),
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    if principal.driver_id:
        claims["drv"] = str(principal.driver_id)
    if principal.device_id:
        claims["dev"] = principal.device_id
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_token(token: str, secret_key: str) -> Principal | None:
    """The principal of a valid token, or None when it is forged, expired or malformed.
    Whether its subject and session still hold is the subject check's business (subjects.py)."""
    principal, expires = _verified(token, secret_key)
    return principal if principal is not None and time.time() < expires else None


@lru_cache(maxsize=4096)
def _verified(token: str, secret_key: str) -> tuple[Principal | None, float]:
    """A token's principal and expiry, once its signature is checked. The signature cannot
    change, so a check holds until the expiry, which `read_token` compares on every use: a
    handheld presents the same token on every push, and the HMAC check and claim parsing are a
    noticeable share of a small request. Revocation is checked elsewhere, on every use."""
    try:
        claims = jwt.decode(
            token, secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "sid"]}
        )
        principal = Principal(
            user_id=UUID(claims["sub"]),
            role=claims["role"],
            driver_id=UUID(claims["drv"]) if "drv" in claims else None,
            device_id=claims.get("dev"),
            session_id=UUID(claims["sid"]),
        )
        return principal, float(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None, 0.0


def new_refresh_token() -> tuple[str, bytes]:
    """A refresh token to hand out once, and the hash to keep of it."""
    token = "rt_" + secrets.token_urlsafe(32)
    return token, refresh_token_hash(token)


def refresh_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
