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


Heads = dict[Any, tuple[int, bytes]]  # shipment id -> (chain_seq, chain_hash) of its last link


def extend(heads: Heads, events: Iterable[Mapping[str, Any]]) -> list[tuple[Any, int, bytes]]:
    """Link `events` (in arrival order) after their shipments' heads, moving the heads along;
    returns (event id, chain_seq, chain_hash) per event."""
    links = []
    for event in events:
        shipment_id = event["shipment_id"]
        seq, previous = heads.get(shipment_id, (0, GENESIS))
        digest = link(previous, event)
        heads[shipment_id] = (seq + 1, digest)
        links.append((event["id"], seq + 1, digest))
    return links


def link_unsealed(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, int, bytes]]:
    """Links for the unsealed rows among all stored events of their shipments (`data` and
    `anomalies` as JSON text): after each shipment's head, in arrival order (received_at, a
    write's own events by device seq, then id) — the order `unsealed_events` reads them in."""
    heads: Heads = {}
    unsealed = []
    for row in rows:
        if row["chain_hash"] is None:
            unsealed.append(row)
        elif row["chain_seq"] > heads.get(row["shipment_id"], (0, GENESIS))[0]:
            heads[row["shipment_id"]] = (row["chain_seq"], row["chain_hash"])
    unsealed.sort(
        key=lambda r: (
            r["shipment_id"],
            r["received_at"],
            r["seq"] is not None,
            r["seq"] or 0,
            r["id"],
        )
    )
    decoded = (
        dict(row)
        | {
            "data": msgspec.json.decode(row["data"]),
            "anomalies": msgspec.json.decode(row["anomalies"]),
        }
        for row in unsealed
    )
    return extend(heads, decoded)
