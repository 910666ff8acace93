"""Push load: request bodies built before the clock starts, sent over lean keep-alive connections.

Each simulated device sends its own batches one after the other (its seqs stay in order), all
devices at once. With `procs > 1` the devices are split over that many client processes, which
start together; throughput is all events over the span from the first send to the last answer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from backend.bench.wire import WireConnection
from backend.simulator.clock import iso
from backend.simulator.fleet import Fleet


@dataclass
class DeviceLoad:
    device_id: str
    token: str
    bodies: list[bytes]


@dataclass
class PushRun:
    events: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds per batch
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    client_cpu: float = 0.0

    @property
    def elapsed(self) -> float:
        return self.ended - self.started

    def merge(self, other: PushRun) -> None:
        self.events += other.events
        self.latencies += other.latencies
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.errors += other.errors
        self.started = min(self.started or other.started, other.started)
        self.ended = max(self.ended, other.ended)
        self.client_cpu += other.client_cpu


def device_events(
    stops: list[dict[str, Any]], barcodes: dict[str, str], count: int
) -> list[dict[str, Any]]:
    """A driver's day over its own stops: hub scans, loading, then per stop a ping, arrival, a
    note, the delivery and two more pings; padded with pings (or cut) to `count` events."""
    now = datetime.now(UTC)
    anchor = {"boot_id": "bench", "mono_ms": 1_000, "server_time": iso(now)}
    plan: list[tuple[str, dict[str, Any]]] = []
    plan += [("scan_hub_in", {"barcode": barcodes[s["shipment_id"]]}) for s in stops]
    plan += [("scan_loaded", {"shipment_id": s["shipment_id"]}) for s in stops]
    ping = {"location": {"lon": 13.4, "lat": 52.5, "accuracy_m": 10.0}}
    for s in stops:
        sid = s["shipment_id"]
        plan += [
            ("location", ping),
            ("arrived", {"stop_id": s["id"]}),
            ("note", {"shipment_id": sid, "data": {"text": "left at the door"}}),
            ("delivered", {"shipment_id": sid, "data": {"handoff": "recipient"}}),
            ("location", ping),
            ("location", ping),
        ]
    plan += [("location", ping)] * max(0, count - len(plan))
    events = []
    for seq, (type_, fields) in enumerate(plan[:count], start=1):
        clock = {"boot_id": "bench", "mono_ms": 1_000 + seq, "anchor": anchor}
        events.append(
            {
                "event_id": str(uuid.uuid4()),
                "seq": seq,
                "type": type_,
                "occurred_at": iso(now),
                "clock": clock,
            }
            | fields
        )
    return events


def build_loads(
    fleet: Fleet, tokens: dict[str, str], per_device: int, batch: int
) -> list[DeviceLoad]:
    barcodes = {sid: s["barcode"] for sid, s in fleet.shipments.items()}
    loads = []
    for seat in fleet.seats:
        route_id = fleet.route_of_seat[seat.index]
        events = device_events(fleet.stops[route_id], barcodes, per_device)
        bodies = [
            msgspec.json.encode(
                {
                    "device_id": seat.device_id,
                    "batch_id": str(uuid.uuid4()),
                    "events": events[i : i + batch],
                }
            )
            for i in range(0, len(events), batch)
        ]
        loads.append(DeviceLoad(seat.device_id, tokens[seat.device_id], bodies))
    return loads


async def push_devices(base_url: str, loads: list[DeviceLoad], start_at: float = 0.0) -> PushRun:
    run = PushRun()
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    # One connection per device, opened before the clock starts.
    connections = await asyncio.gather(*(WireConnection.open(base_url) for _ in loads))
    try:
        cpu0 = time.process_time()
        run.started = time.perf_counter()
        await asyncio.gather(
            *(_one_device(c, load, run) for c, load in zip(connections, loads, strict=True))
        )
        run.ended = time.perf_counter()
        run.client_cpu = time.process_time() - cpu0
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    run.events = sum(body.count(b'"event_id"') for load in loads for body in load.bodies)
    return run


async def _one_device(connection: WireConnection, load: DeviceLoad, run: PushRun) -> None:
    head = connection.head(
        "POST",
        "/v1/sync/push",
        {"authorization": f"Bearer {load.token}", "content-type": "application/json"},
    )
    for body in load.bodies:
        began = time.perf_counter()
        response = await connection.request(head, body)
        run.latencies.append(time.perf_counter() - began)
        if response.status != 200:
            run.errors.append(f"{load.device_id}: {response.status} {response.body[:200]!r}")
            continue
        run.accepted += response.body.count(b'"status":"accepted"')
        run.rejected += response.body.count(b'"status":"rejected"')


def _child(base_url: str, loads: list[DeviceLoad], start_at: float, queue: Any) -> None:
    run = asyncio.run(push_devices(base_url, loads, start_at))
    queue.put(run)


async def push(base_url: str, loads: list[DeviceLoad], procs: int) -> PushRun:
    """All loads at once, from one client process or `procs` of them."""
    if procs <= 1:
        return await push_devices(base_url, loads)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start_at = time.perf_counter() + 3.0 + 0.02 * len(loads)  # after every child is ready
    shares = [loads[i::procs] for i in range(procs)]
    workers = [
        context.Process(target=_child, args=(base_url, share, start_at, queue), daemon=True)
        for share in shares
        if share
    ]
    for worker in workers:
        worker.start()
    try:
        runs = [await asyncio.to_thread(queue.get, True, 600) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
    total = PushRun()
    for run in runs:
        total.merge(run)
    if max(run.started for run in runs) > start_at + 0.05:
        total.errors.append("a client process started late; the figure includes its lag")
    return total
