"""What a driver does with a handheld through the day, and how coverage comes and goes.

Morning: every parcel on the manifest is scanned in at the hub and loaded; routes are started.
Then stop after stop in manifest order (which the dispatcher may change under it): a location
ping, arrival, a delivery or a failed attempt, sometimes a note, rarely a stray label scanned.
Evening: failed parcels go back to the hub. Meanwhile coverage drops and returns; the device
syncs whenever it is online and feels like it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from backend.simulator.device import Device

HANDOFFS = ("recipient", "recipient", "recipient", "neighbour", "safe_drop", "locker")
FAILURES = ("recipient_absent", "no_access", "refused", "address_not_found", "other")
IDLE_SECONDS = 0.05


class Progress:
    """Stops visited across the fleet, for the dispatcher to time its changes by."""

    def __init__(self, total: int, devices: list[Device]) -> None:
        self.total = max(total, 1)
        self.visits = 0
        self.devices = devices

    def fraction(self) -> float:
        return self.visits / self.total

    def stalled(self) -> bool:
        return all(device.idle for device in self.devices)


def start_new_routes(device: Device) -> None:
    for route_id in device.routes():
        if route_id not in device.begun:
            device.begun.add(route_id)
            device.capture("route_started", data={"route_id": route_id})


def _learn_barcodes(device: Device) -> None:
    for (entity, sid), data in device.local.items():
        if entity == "shipment" and data["barcodes"]:
            device.barcodes.setdefault(sid, data["barcodes"][0])


def morning(device: Device) -> None:
    _learn_barcodes(device)
    manifest = [stop["shipment_id"] for _, stop in device.stops()]
    for sid in manifest:
        device.capture("scan_hub_in", about=sid, barcode=device.barcodes[sid])
    for sid in manifest:
        device.capture("scan_loaded", about=sid, shipment_id=sid)
        device.loaded.add(sid)
    start_new_routes(device)


def _near(shipment: dict[str, Any], device: Device) -> dict[str, float]:
    lon, lat = shipment["location"]["coordinates"]
    rng = device.rng
    return {
        "lon": round(lon + rng.uniform(-2e-4, 2e-4), 6),
        "lat": round(lat + rng.uniform(-2e-4, 2e-4), 6),
        "accuracy_m": round(rng.uniform(3, 25), 1),
    }


def visit(device: Device, stop_id: str, stop: dict[str, Any]) -> None:
    cfg, rng = device.config, device.rng
    sid = stop["shipment_id"]
    shipment = device.shipment(sid)
    assert shipment is not None
    _learn_barcodes(device)
    start_new_routes(device)
    if sid not in device.loaded:  # put on the route after loading time: picked up now
        device.capture("scan_loaded", about=sid, barcode=device.barcodes[sid])
        device.loaded.add(sid)
    here = _near(shipment, device)
    device.capture("location", location=here)
    device.capture("arrived", about=sid, stop_id=stop_id, location=here)
    if rng.random() < cfg.fail_rate:
        reason = rng.choice(FAILURES)
        device.capture("delivery_failed", about=sid, shipment_id=sid, data={"reason": reason})
        device.failed.add(sid)
    else:
        data = {"handoff": rng.choice(HANDOFFS), "recipient_name": "R. Simulated"}
        device.capture("delivered", about=sid, shipment_id=sid, location=here, data=data)
    if rng.random() < cfg.note_rate:
        device.capture("note", about=sid, shipment_id=sid, data={"text": "gate code 1234"})
    if rng.random() < cfg.poison_rate:
        device.report.stats["poison"] += 1
        stray = f"STRAY-{device.device_id}-{device.seq}"
        device.capture("scan_hub_in", barcode=stray, expect_reject="unknown_barcode")
    device.done.add(sid)


async def coverage(device: Device) -> None:
    """One step of the network: reboot, lose coverage, regain it, sync now and then."""
    cfg, rng, stats = device.config, device.rng, device.report.stats
    if rng.random() < cfg.reboot_rate and (device.online or not device.clock.skew):
        # A skewed device only reboots in coverage: with no anchor its times would be wrong.
        device.clock.reboot(uptime_ms=rng.randint(0, 5000))
        stats["reboots"] += 1
        if device.online:
            await device.pull()
    if device.online:
        if rng.random() < cfg.offline_rate:
            device.online = False
            device.offline_left = rng.randint(*cfg.offline_stops)
            stats["offline"] += 1
        elif rng.random() < cfg.sync_rate:
            await device.sync()
    else:
        device.offline_left -= 1
        if device.offline_left <= 0:
            device.online = True
            await device.sync()


async def settle(device: Device, attempts: int = 20) -> None:
    """Back in coverage at the end of the day: push until nothing is left, then pull."""
    device.online = True
    for _ in range(attempts):
        if await device.sync() and device.unsettled() == 0:
            return
        device.online = True
        await asyncio.sleep(IDLE_SECONDS)


async def drive(device: Device, day_over: asyncio.Event, progress: Progress) -> None:
    await device.sign_in()
    if not await device.pull():
        raise RuntimeError(f"{device.device_id}: first pull failed")
    morning(device)
    while True:
        nxt = device.next_stop()
        if nxt is None:
            device.idle = True
            if day_over.is_set():
                break
            device.online = True  # back at the depot, in coverage: look for new work
            await device.sync()
            start_new_routes(device)
            await asyncio.sleep(IDLE_SECONDS)
            continue
        device.idle = False
        visit(device, *nxt)
        progress.visits += 1
        await coverage(device)
        await asyncio.sleep(device.config.step_delay)
    for sid in sorted(device.failed):
        device.capture("returned_to_hub", about=sid, barcode=device.barcodes[sid])
    await settle(device)
