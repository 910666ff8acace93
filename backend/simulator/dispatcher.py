"""Dispatch changing the plan while drivers work: notes, reorders, an added and a removed stop, a
cancellation, a route handed to another driver and back.

Each change waits until the fleet has visited a share of its stops (or has run out of work).
Choices come from the dispatcher's own seeded generator. A change the server refuses for a good
reason (409: the shipment was delivered meanwhile) is tried on another shipment.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from backend.simulator.config import SimConfig
from backend.simulator.device import Device
from backend.simulator.driver import Progress
from backend.simulator.fleet import Fleet
from backend.simulator.http import ApiClient, ApiError
from backend.simulator.report import Report

TRIES = 5


class Dispatcher:
    def __init__(
        self,
        admin: ApiClient,
        fleet: Fleet,
        devices: list[Device],
        config: SimConfig,
        report: Report,
        progress: Progress,
    ) -> None:
        self.admin = admin
        self.fleet = fleet
        self.devices = devices
        self.config = config
        self.report = report
        self.progress = progress
        self.rng = random.Random(f"{config.seed}:dispatch")
        self.done = asyncio.Event()
        self.cancelled: set[str] = set()
        self.removed: set[str] = set()
        self.reassigned: tuple[str, str, str] | None = None  # route, from driver, to driver

    def plan(self) -> list[tuple[float, Callable[[], Awaitable[str]]]]:
        return [
            (0.10, self.edit_notes),
            (0.20, self.reorder),
            (0.30, self.add_stop),
            (0.40, self.remove_stop),
            (0.50, self.cancel),
            (0.55, self.reassign),
            (0.75, self.reassign_back),
            (0.85, self.edit_notes),
        ]

    async def run(self) -> None:
        try:
            if self.config.dispatcher:
                for share, action in self.plan():
                    await self._wait(lambda s=share: self.progress.fraction() >= s)
                    outcome = await action()
                    self.report.dispatch.append(f"{action.__name__}: {outcome}")
                    if self.config.verbose:
                        print(f"[dispatch] {action.__name__}: {outcome}", flush=True)
        finally:
            self.done.set()

    async def _wait(self, ready: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + self.config.action_timeout
        while not ready():
            if self.progress.stalled() or time.monotonic() > deadline:
                return ready()
            await asyncio.sleep(0.01)
        return True

    # helpers ---------------------------------------------------------------------------------

    async def _route(self, route_id: str) -> dict[str, Any]:
        return await self.admin.call("GET", f"/v1/routes/{route_id}")

    async def _set_stops(self, route_id: str, shipment_ids: list[str]) -> dict[str, Any]:
        body = {"stops": [{"shipment_id": sid} for sid in shipment_ids]}
        return await self.admin.call("PUT", f"/v1/routes/{route_id}/stops", body)

    def _attempted(self) -> set[str]:
        return set().union(*(device.done for device in self.devices))

    def _candidates(self, stops: list[dict[str, Any]]) -> list[str]:
        """Shipments of the back half of a route that no device has reached yet."""
        attempted = self._attempted() | self.cancelled | self.removed
        back = stops[len(stops) // 2 :]
        return [s["shipment_id"] for s in back if s["shipment_id"] not in attempted]

    def _some_route(self) -> str:
        return self.rng.choice(sorted(self.fleet.routes))

    def _refused(self, exc: ApiError, what: str) -> bool:
        """409 is dispatch losing a race to a driver; anything 5xx is a server bug."""
        if exc.status >= 500:
            self.report.server_error(what, exc.status, exc.body)
        return exc.status == 409

    # actions ---------------------------------------------------------------------------------

    async def edit_notes(self) -> str:
        untouched = sorted(set(self.fleet.shipments) - self._attempted() - self.cancelled)
        for _ in range(TRIES):
            sid = self.rng.choice(untouched or sorted(self.fleet.shipments))
            text = f"dispatch note {self.rng.randint(1000, 9999)}: ring twice"
            try:
                await self.admin.call("PATCH", f"/v1/shipments/{sid}", {"notes": text})
                return f"notes of {sid} set"
            except ApiError as exc:
                if not self._refused(exc, f"PATCH shipment {sid}"):
                    raise
        return "skipped: every pick was closed"

    async def reorder(self) -> str:
        route_id = self._some_route()
        stops = (await self._route(route_id))["stops"]
        order = [s["shipment_id"] for s in stops]
        tail = len(order) // 2
        order = order[:tail] + list(reversed(order[tail:]))
        await self._set_stops(route_id, order)
        return f"route {route_id}: back half of {len(order)} stops reversed"

    async def add_stop(self) -> str:
        if not self.fleet.spare:
            return "skipped: no spare shipment"
        route_id = self._some_route()
        sid = self.fleet.spare.pop(0)
        order = [s["shipment_id"] for s in (await self._route(route_id))["stops"]]
        position = self.rng.randint(len(order) // 2, len(order))
        await self._set_stops(route_id, [*order[:position], sid, *order[position:]])
        return f"route {route_id}: {sid} added at stop {position + 1}"

    async def remove_stop(self) -> str:
        for _ in range(TRIES):
            route_id = self._some_route()
            stops = (await self._route(route_id))["stops"]
            candidates = self._candidates(stops)
            if not candidates:
                continue
            sid = self.rng.choice(candidates)
            await self._set_stops(
                route_id, [s["shipment_id"] for s in stops if s["shipment_id"] != sid]
            )
            self.removed.add(sid)
            return f"route {route_id}: {sid} taken off"
        return "skipped: no stop left to take off"

    async def cancel(self) -> str:
        for _ in range(TRIES):
            route_id = self._some_route()
            candidates = self._candidates((await self._route(route_id))["stops"])
            if not candidates:
                continue
            sid = self.rng.choice(candidates)
            try:
                result = await self.admin.call("POST", f"/v1/shipments/{sid}/cancel", {})
            except ApiError as exc:
                if self._refused(exc, f"cancel {sid}"):
                    continue
                raise
            self.cancelled.add(sid)
            return f"{sid} cancelled (now {result['status']})"
        return "skipped: every pick was closed"

    def _device_of(self, driver_id: str) -> Device:
        return next(d for d in self.devices if d.driver_id == driver_id)

    async def reassign(self) -> str:
        """Hand a started route to another driver. Only a route whose start the server has
        accepted: a start pushed after the handover would rightly be refused (not_your_route)."""
        if len(self.devices) < 2:
            return "skipped: one driver only"

        def eligible() -> list[str]:
            return sorted(
                rid for rid, did in self.fleet.routes.items() if rid in self._device_of(did).started
            )

        if not await self._wait(lambda: bool(eligible())):
            return "skipped: no route start acknowledged in time"
        route_id = self.rng.choice(eligible())
        source = self.fleet.routes[route_id]
        target = self.rng.choice(sorted(d.driver_id for d in self.devices if d.driver_id != source))
        await self.admin.call("POST", f"/v1/routes/{route_id}/reassign", {"driver_id": target})
        self.fleet.routes[route_id] = target
        self.reassigned = (route_id, source, target)
        return f"route {route_id}: {self._name(source)} -> {self._name(target)}"

    async def reassign_back(self) -> str:
        if self.reassigned is None:
            return "skipped: nothing was handed over"
        route_id, source, target = self.reassigned
        holder = self._device_of(target)
        if not await self._wait(lambda: route_id in holder.started):
            return f"skipped: {self._name(target)} never acknowledged starting route {route_id}"
        await self.admin.call("POST", f"/v1/routes/{route_id}/reassign", {"driver_id": source})
        self.fleet.routes[route_id] = source
        return f"route {route_id}: {self._name(target)} -> {self._name(source)} (back)"

    def _name(self, driver_id: str) -> str:
        return self._device_of(driver_id).device_id
