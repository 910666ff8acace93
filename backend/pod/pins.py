"""Delivery PINs: derived from the server secret, so tracking can show one without storing it.

`pin_for` is what the recipient sees; `pin_hash` is all the database keeps, salted with the
shipment id so one hash says nothing about another shipment's PIN. Verification needs only the
stored hash, so rotating `LASTMILE_SECRET_KEY` never breaks PINs of shipments already in flight
(tracking would then show a different PIN for them: see docs/proof-of-delivery.md).
"""

import hashlib
import hmac
from uuid import UUID

PIN_DIGITS = 6


def pin_for(shipment_id: UUID, secret_key: str) -> str:
    """The shipment's PIN: HMAC-SHA256(secret, id) reduced to six decimal digits."""
    digest = hmac.new(secret_key.encode(), b"lastmile-pin:" + shipment_id.bytes, hashlib.sha256)
    return f"{int.from_bytes(digest.digest()[:8], 'big') % 10**PIN_DIGITS:0{PIN_DIGITS}d}"


def pin_hash(shipment_id: UUID, pin: str) -> str:
    return hashlib.sha256(b"lastmile-pin-hash:" + shipment_id.bytes + pin.encode()).hexdigest()


def pin_matches(shipment_id: UUID, pin: str, stored_hash: str) -> bool:
    return hmac.compare_digest(pin_hash(shipment_id, pin.strip()), stored_hash)
