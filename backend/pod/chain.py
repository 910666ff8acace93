"""The audit chain of a shipment's events: pure functions, shared by the server and the offline
verifier (`lastmile verify-evidence`), so both hash exactly the same bytes.

Each event is reduced to a JSON object of its stored fields (`canonical_event`), encoded with
sorted keys and no whitespace (`canonical_bytes`). Links, in arrival order:
`chain_hash[n] = sha256(chain_hash[n-1] || canonical_bytes(event[n]))`, with 32 zero bytes
before the first event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

GENESIS = bytes(32)
# The stored fields that make up an event, in the order the evidence bundle lists them.
EVENT_FIELDS = (
    "id",
    "shipment_id",
    "source",
    "type",
    "actor_id",
    "device_id",
    "seq",
    "occurred_at",
    "effective_at",
    "received_at",
    "data",
    "anomalies",
)


def canonical_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON value of an event (ids and times as strings), from a row or a bundle entry."""
    return msgspec.to_builtins({name: row[name] for name in EVENT_FIELDS})


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    return msgspec.json.encode(canonical_event(event), order="sorted")


def link(previous: bytes, event: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(previous + canonical_bytes(event)).digest()


def chain(events: Iterable[Mapping[str, Any]], previous: bytes = GENESIS) -> list[bytes]:
    """The chain hashes of `events` (in arrival order) following `previous`."""
    hashes = []
    for event in events:
        previous = link(previous, event)
        hashes.append(previous)
    return hashes
