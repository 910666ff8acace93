"""A simulated handheld: its seq counter, outbox, local manifest copy and clock.

Events are captured into the outbox whatever the coverage. When online the device forms batches
from the outbox (a batch, once formed, is only ever re-sent unchanged), pushes them, and pulls
the changes to its manifest. Transport chaos (lost answers, re-sent batches, batches sent out of
order) is decided here with the device's own seeded generator; what the server answers is
checked as it arrives.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import msgspec

from backend.simulator.clock import DeviceClock
from backend.simulator.config import SimConfig
from backend.simulator.fleet import DRIVER_PASSWORD, Seat
from backend.simulator.http import ApiClient, decode
from backend.simulator.report import Report

CLOSED = frozenset({"delivered", "returned", "cancelled"})

REPLAY = "a replayed batch answers the stored response (with the current server_time)"
RESENT = "events re-sent in a new batch answer duplicate (or the same rejection)"
ANSWERS = "each push answers one result per event, in request order"
PULLS = "pulls answer 200"


def apply_page(local: dict[tuple[str, str], dict[str, Any]], page: dict[str, Any]) -> None:
    """A pull page applied to a device's copy of its manifest, as a handheld app applies it: a
    snapshot replaces the copy, then each change upserts or removes one entity."""
    if page["snapshot"]:
        local.clear()
    for change in page["changes"]:
        key = (change["entity"], change["id"])
        if change["op"] == "upsert":
            local[key] = change["data"]
        else:
            local.pop(key, None)


def _stored_part(answer: dict[str, Any]) -> dict[str, Any]:
    """A push answer as stored for replays: all but `server_time`, which a replay sends fresh."""
    return {key: value for key, value in answer.items() if key != "server_time"}


def _time(answer: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(answer["server_time"])


@dataclass
class Captured:
    """One event as captured, and what became of it."""

    event: dict[str, Any]
    effective_at: datetime | None  # what the server must derive; None when it clamps
    anchored: bool
    shipment_id: str | None
    expect_reject: str | None = None  # the reason a stray event must be rejected with
    status: str | None = None  # first answer: accepted | duplicate | rejected
    reason: str | None = None

    @property
    def event_id(self) -> str:
        return self.event["event_id"]

    @property
    def seq(self) -> int:
        return self.event["seq"]


@dataclass
class Batch:
    batch_id: str
    events: list[Captured]
    body: bytes


@dataclass
class Device:
    seat: Seat
    root: ApiClient  # unauthenticated; the device signs in through it
    config: SimConfig
    report: Report
    rng: random.Random
    clock: DeviceClock = field(default_factory=DeviceClock)
    api: ApiClient | None = None
    seq: int = 0
    captured: dict[str, Captured] = field(default_factory=dict)
    outbox: list[Captured] = field(default_factory=list)
    queued: list[Batch] = field(default_factory=list)
    local: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    cursor: str | None = None
    online: bool = True
    offline_left: int = 0
    ack_seq: int = 0
    done: set[str] = field(default_factory=set)  # shipments this driver has attempted
    failed: set[str] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)
    begun: set[str] = field(default_factory=set)  # routes this device captured a start for
    started: dict[str, Captured] = field(default_factory=dict)  # route id -> accepted start
    barcodes: dict[str, str] = field(default_factory=dict)  # shipment id -> a parcel barcode
    idle: bool = False

    @property
    def device_id(self) -> str:
        return self.seat.device_id

    @property
    def driver_id(self) -> str:
        return self.seat.driver_id

    async def sign_in(self) -> None:
        self.api = await self.root.sign_in(self.seat.email, DRIVER_PASSWORD, self.device_id)

    # capturing -------------------------------------------------------------------------------

    def capture(
        self,
        type_: str,
        *,
        about: str | None = None,
        expect_reject: str | None = None,
        **fields: Any,
    ) -> Captured:
        """Stamp and queue an event. `about` is the shipment it concerns (as the device knows
        it, whether the event names it by id, barcode or stop)."""
        self.seq += 1
        stamp = self.clock.stamp()
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "seq": self.seq,
            "type": type_,
            "occurred_at": stamp.occurred_at,
            "clock": stamp.clock,
        }
        event.update({k: v for k, v in fields.items() if v is not None})
        item = Captured(event, stamp.effective_at, stamp.anchored, about, expect_reject)
        self.captured[item.event_id] = item
        self.outbox.append(item)
        self.report.stats["captured"] += 1
        return item

    # pushing ---------------------------------------------------------------------------------

    def _form_batches(self) -> None:
        while self.outbox:
            size = self.rng.randint(1, self.config.max_batch)
            events, self.outbox = self.outbox[:size], self.outbox[size:]
            self.queued.append(self._batch(events))

    def _batch(self, events: list[Captured]) -> Batch:
        batch_id = str(uuid.uuid4())
        body = {
            "device_id": self.device_id,
            "batch_id": batch_id,
            "events": [e.event for e in events],
        }
        return Batch(batch_id, events, msgspec.json.encode(body))

    async def push_all(self) -> bool:
        """Send every queued batch (some out of order); False when coverage dropped."""
        self._form_batches()
        order = list(self.queued)
        if len(order) >= 2 and self.rng.random() < self.config.reorder_rate:
            order[0], order[1] = order[1], order[0]
            self.report.stats["reordered"] += 1
        for batch in order:
            answer = await self._post(batch)
            if answer is None:
                return False
            if self.rng.random() < self.config.lost_response_rate:
                # The answer never reached the device: it sends the very same batch again.
                self.report.stats["replays"] += 1
                again = await self._post(batch)
                if again is None:
                    return False
                check = self.report.check(REPLAY)
                check.checked += 1
                if _stored_part(again) != _stored_part(answer) or _time(again) < _time(answer):
                    check.fail(f"{self.device_id} batch {batch.batch_id}: {answer} != {again}")
                answer = again
            self.queued.remove(batch)
            self._settle(batch, answer)
            if self.rng.random() < self.config.duplicate_rate:
                await self._resend(batch.events)
        return True

    async def _resend(self, events: list[Captured]) -> None:
        """The same events again under a new batch id (the device lost track of what it sent)."""
        self.report.stats["resent"] += 1
        batch = self._batch(events)
        answer = await self._post(batch)
        if answer is None:
            return
        if not self._check_answer(batch, answer):
            return
        check = self.report.check(RESENT)
        for item, result in zip(events, answer["results"], strict=True):
            check.checked += 1
            want = "rejected" if item.status == "rejected" else "duplicate"
            if result["status"] != want or result.get("reason") != item.reason:
                check.fail(f"{self.device_id} seq {item.seq} {item.event['type']}: {result}")

    async def _post(self, batch: Batch) -> dict[str, Any] | None:
        assert self.api is not None
        began = time.perf_counter()
        try:
            response = await self.api.send("POST", "/v1/sync/push", batch.body)
        except httpx.TransportError:
            self.report.stats["transport_errors"] += 1
            self.online = False
            self.offline_left = 1
            return None
        self.report.stats["pushes"] += 1
        self.report.timed("push", time.perf_counter() - began)
        data = decode(response)
        if response.status_code >= 500:
            self.report.server_error(f"push {self.device_id} {batch.batch_id}", 500, data)
            self.online, self.offline_left = False, 1
            return None
        if response.status_code != 200:
            self.report.check(ANSWERS).fail(
                f"{self.device_id} batch {batch.batch_id} refused {response.status_code}: {data}"
            )
            for item in batch.events:
                item.status = item.status or "refused"
                item.reason = item.reason or str(response.status_code)
            if batch in self.queued:
                self.queued.remove(batch)
            return None
        self.clock.synced(data["server_time"])
        return data

    def _check_answer(self, batch: Batch, answer: dict[str, Any]) -> bool:
        check = self.report.check(ANSWERS)
        check.checked += 1
        ids = [r.get("event_id") for r in answer["results"]]
        if ids != [item.event_id for item in batch.events]:
            check.fail(f"{self.device_id} batch {batch.batch_id}: results {ids} do not match")
            return False
        return True

    def _settle(self, batch: Batch, answer: dict[str, Any]) -> None:
        if not self._check_answer(batch, answer):
            return
        self.ack_seq = max(self.ack_seq, answer["ack_seq"])
        for item, result in zip(batch.events, answer["results"], strict=True):
            if item.status is None:
                item.status, item.reason = result["status"], result.get("reason")
                key = result["status"] + (f":{item.reason}" if item.reason else "")
                self.report.results[key] += 1
            if item.event["type"] == "route_started" and result["status"] == "accepted":
                self.started[item.event["data"]["route_id"]] = item

    def unsettled(self) -> int:
        return len(self.outbox) + sum(len(b.events) for b in self.queued)

    # pulling ---------------------------------------------------------------------------------

    async def pull(self) -> bool:
        """Pull until caught up, applying every page to the local copy."""
        assert self.api is not None
        while True:
            params: dict[str, Any] = {"cursor": self.cursor} if self.cursor else {}
            began = time.perf_counter()
            try:
                response = await self.api.send("GET", "/v1/sync/pull", params=params)
            except httpx.TransportError:
                self.report.stats["transport_errors"] += 1
                self.online, self.offline_left = False, 1
                return False
            self.report.stats["pulls"] += 1
            self.report.timed("pull", time.perf_counter() - began)
            page = decode(response)
            if response.status_code != 200:
                if response.status_code >= 500:
                    self.report.server_error(f"pull {self.device_id}", 500, page)
                else:
                    self.report.check(PULLS).fail(
                        f"{self.device_id}: {response.status_code} {page}"
                    )
                return False
            self.clock.synced(page["server_time"])
            if page["reset_required"]:
                self.report.stats["resets"] += 1
                self.cursor = None
                continue
            apply_page(self.local, page)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return True

    async def snapshot(self) -> dict[tuple[str, str], dict[str, Any]]:
        assert self.api is not None
        page = await self.api.call("GET", "/v1/sync/pull")
        return {(c["entity"], c["id"]): c["data"] for c in page["changes"]}

    async def sync(self) -> bool:
        return await self.push_all() and await self.pull()

    # the manifest as the device sees it --------------------------------------------------------

    def routes(self) -> list[str]:
        return sorted(
            rid
            for (entity, rid), data in self.local.items()
            if entity == "route" and data["driver_id"] == self.driver_id
        )

    def stops(self) -> list[tuple[str, dict[str, Any]]]:
        """(stop id, stop) of every route, in route then sequence order."""
        order = {rid: n for n, rid in enumerate(self.routes())}
        stops = [
            (sid, data)
            for (entity, sid), data in self.local.items()
            if entity == "stop" and data["route_id"] in order
        ]
        return sorted(stops, key=lambda s: (order[s[1]["route_id"]], s[1]["sequence"]))

    def shipment(self, shipment_id: str) -> dict[str, Any] | None:
        return self.local.get(("shipment", shipment_id))

    def next_stop(self) -> tuple[str, dict[str, Any]] | None:
        for stop_id, stop in self.stops():
            sid = stop["shipment_id"]
            shipment = self.shipment(sid)
            if sid in self.done or shipment is None or shipment["status"] in CLOSED:
                continue
            return stop_id, stop
        return None
