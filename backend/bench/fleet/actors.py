"""What a simulated handheld sends: its events in the order of a delivery day, its pings, its
pulls. Bodies are made when a request is due (the time in them is the time it is sent)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import msgspec

from backend.bench.fleet.seed import Names

BOOT = "fleet"
ANCHOR_MONO_MS = 1_000
# The last stops of every route are never delivered during a run: dispatch edits them, and a
# delivered shipment can no longer be edited.
EDITABLE_TAIL = 10
EVENTS_PER_STOP = 4


def head(host: str, method: str, path: str, headers: dict[str, str]) -> bytes:
    """The request line and headers (no length: `WireConnection.request` adds it)."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode()


class PullAnswer(msgspec.Struct):
    cursor: str | None = None


decode_pull = msgspec.json.Decoder(PullAnswer).decode


class Clock:
    """The device clock every event carries: a monotonic time anchored at the run's start."""

    def __init__(self, started_wall: float, started_mono: float) -> None:
        self.started_mono = started_mono
        self.anchor = {
            "boot_id": BOOT,
            "mono_ms": ANCHOR_MONO_MS,
            "server_time": datetime.fromtimestamp(started_wall, UTC).isoformat(),
        }

    def stamp(self) -> tuple[str, dict[str, Any]]:
        now = datetime.now(UTC).isoformat()
        mono = ANCHOR_MONO_MS + int(1000 * (time.monotonic() - self.started_mono))
        return now, {"boot_id": BOOT, "mono_ms": mono, "anchor": self.anchor}


class Driver:
    """One driver's handheld: its seq counter, its place in the day's plan, its pull cursor."""

    def __init__(self, k: int, names: Names, host: str) -> None:
        self.k = k
        self.names = names
        self.device_id = names.device_id(k)
        token = names.driver_token(k)
        auth = {"authorization": f"Bearer {token}"}
        post = auth | {"content-type": "application/json"}
        self.push_head = head(host, "POST", "/v1/sync/push", post)
        self.ping_head = head(host, "POST", "/v1/tracking/pings", post)
        self.snapshot_head = head(host, "GET", "/v1/sync/pull", auth)
        self._auth = auth
        self._host = host
        self.seq = 0
        self.position = 0  # index into the day's plan of events
        self.cursor: str | None = None
        self.flushing = False  # offline for the shift end, then flushes its backlog

    def delta_head(self) -> bytes:
        if self.cursor is None:
            return self.snapshot_head
        path = f"/v1/sync/pull?cursor={quote(self.cursor, safe='')}"
        return head(self._host, "GET", path, self._auth)

    def _planned(self, p: int) -> dict[str, Any]:
        """Event p of the day: loading scans of every stop, then per stop a ping, `arrived`,
        `delivered` and a ping; only pings once the deliverable stops are done."""
        stops = self.names.stops
        if p < stops:
            return {"type": "scan_loaded", "shipment_id": str(self.names.shipment_id(self.k, p))}
        j, part = divmod(p - stops, EVENTS_PER_STOP)
        if j >= stops - EDITABLE_TAIL or part in (0, 3):
            return {
                "type": "location",
                "location": {"lon": 13.4 + 0.0001 * (p % 97), "lat": 52.5, "accuracy_m": 8.0},
            }
        if part == 1:
            return {"type": "arrived", "stop_id": str(self.names.stop_id(self.k, j))}
        return {
            "type": "delivered",
            "shipment_id": str(self.names.shipment_id(self.k, j)),
            "data": {"handoff": "recipient"},
        }

    def push_body(self, events: int, clock: Clock) -> bytes:
        occurred_at, stamp = clock.stamp()
        batch = []
        for _ in range(events):
            self.seq += 1
            event = self._planned(self.position)
            self.position += 1
            event |= {
                "event_id": str(uuid.uuid4()),
                "seq": self.seq,
                "occurred_at": occurred_at,
                "clock": stamp,
            }
            batch.append(event)
        body = {"device_id": self.device_id, "batch_id": str(uuid.uuid4()), "events": batch}
        return msgspec.json.encode(body)

    def ping_body(self) -> bytes:
        ping = {
            "at": datetime.now(UTC).isoformat(),
            "lon": 13.4 + 0.0001 * (self.position % 97),
            "lat": 52.5 + 0.00001 * (self.k % 1000),
            "accuracy_m": 8.0,
        }
        return msgspec.json.encode({"device_id": self.device_id, "pings": [ping]})
