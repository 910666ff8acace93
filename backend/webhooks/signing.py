"""Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

Secrets are `whsec_<base64 of 24 random bytes>`; the HMAC key is the decoded bytes.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(keys: list[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """One signature per live secret, space separated (both during a rotation's 24 h)."""
    return " ".join(sign(key, message_id, timestamp, body) for key in keys)


def message_id(event_id: object) -> str:
    """The `webhook-id`: the event's, so every retry and redelivery of it carries the same."""
    return f"msg_{getattr(event_id, 'hex', event_id)}"
