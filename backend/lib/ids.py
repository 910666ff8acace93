"""Identifiers: UUIDv7 for rows, human tracking numbers, unguessable tokens."""

import os
import secrets
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562, version 7): 48-bit milliseconds, then randomness."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant
    return uuid.UUID(int=value)


def tracking_number() -> str:
    """`LM` and 12 Crockford base-32 characters: easy to read out on the phone."""
    return "LM" + "".join(secrets.choice(_CROCKFORD) for _ in range(12))


def secret_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)
