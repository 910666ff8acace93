"""End-of-day verification: copies, outcomes, acks, shipment logs, effective times, statuses.

Expected statuses come from a small reference model of the fold written from DESIGN.md (order by
effective time, source rank, device, seq, event id; delivered/returned are terminal; dispatch
cannot undo a cancel; a physical scan after a cancel stands). It is fed the device events with
the effective times the devices themselves derived, and the dispatch events the server logged.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.simulator.clock import parse_time
from backend.simulator.device import Captured, Device
from backend.simulator.fleet import Fleet, bounded
from backend.simulator.http import ApiClient
from backend.simulator.report import Report

COPIES = "each device's copy equals a fresh snapshot for its driver"
SETTLED = "every captured event was accepted or duplicate (rejected only where expected)"
ACKS = "ack_seq reached each device's last seq"
LOGGED = "every accepted shipment event is in that shipment's log, nothing else from devices"
TIMES = "effective times follow the monotonic anchors"
STATUSES = "shipment statuses agree with what devices and dispatch did"

TOLERANCE = timedelta(milliseconds=1)
TARGET = {
    "created": "created",
    "scan_hub_in": "at_hub",
    "returned_to_hub": "at_hub",
    "scan_loaded": "out_for_delivery",
    "delivered": "delivered",
    "delivery_failed": "attempt_failed",
    "cancelled": "cancelled",
}
RANK = {"dispatch": 0, "recipient": 1, "partner": 2, "device": 3}
Entry = tuple[bool, datetime, int, str, int, str, str, str]  # sort key fields + type + source


def reference_status(entries: list[Entry]) -> str | None:
    status: str | None = None
    for *_, type_, source in sorted(entries):
        target = TARGET.get(type_)
        if target is None or status in ("delivered", "returned"):
            continue
        if status == "cancelled" and source == "dispatch":
            continue
        status = target
    return status


def _entry(at: datetime, source: str, device: str, seq: int, eid: str, type_: str) -> Entry:
    return (type_ != "created", at, RANK.get(source, 4), device, seq, eid, type_, source)


async def verify(admin: ApiClient, fleet: Fleet, devices: list[Device], report: Report) -> None:
    for device in devices:  # others' pushes changed what each driver holds: catch up
        device.online = True
        await device.pull()
    await _copies(devices, report)
    _settled(devices, report)
    _acks(devices, report)
    by_shipment: dict[str, list[tuple[Device, Captured]]] = {}
    for device in devices:
        for item in device.captured.values():
            if item.shipment_id and item.status in ("accepted", "duplicate"):
                by_shipment.setdefault(item.shipment_id, []).append((device, item))

    async def one(sid: str) -> None:
        shipment = await admin.call("GET", f"/v1/shipments/{sid}")
        events = (await admin.call("GET", f"/v1/shipments/{sid}/events"))["items"]
        _shipment(sid, shipment["status"], events, by_shipment.get(sid, []), report)

    await bounded(8, (one(sid) for sid in sorted(fleet.shipments)))


async def _copies(devices: list[Device], report: Report) -> None:
    check = report.check(COPIES)
    for device in devices:
        fresh = await device.snapshot()
        check.checked += 1
        missing = sorted(set(fresh) - set(device.local))
        extra = sorted(set(device.local) - set(fresh))
        differ = sorted(k for k in set(fresh) & set(device.local) if fresh[k] != device.local[k])
        for kind, keys in (("missing", missing), ("stale extra", extra), ("differs", differ)):
            for entity, eid in keys[:3]:
                check.fail(f"{device.device_id}: {kind} {entity} {eid}")
        report.stats["copy_entities"] += len(fresh)


def _settled(devices: list[Device], report: Report) -> None:
    check = report.check(SETTLED)
    for device in devices:
        for item in device.captured.values():
            check.checked += 1
            what = f"{device.device_id} seq {item.seq} {item.event['type']}"
            if item.expect_reject:
                if (item.status, item.reason) != ("rejected", item.expect_reject):
                    check.fail(f"{what}: {item.status} {item.reason}, not {item.expect_reject}")
            elif item.status not in ("accepted", "duplicate"):
                check.fail(f"{what}: {item.status} ({item.reason})")


def _acks(devices: list[Device], report: Report) -> None:
    check = report.check(ACKS)
    for device in devices:
        check.checked += 1
        if device.ack_seq != device.seq:
            check.fail(f"{device.device_id}: ack_seq {device.ack_seq}, last seq {device.seq}")


def _shipment(
    sid: str,
    status: str,
    events: list[dict[str, Any]],
    captured: list[tuple[Device, Captured]],
    report: Report,
) -> None:
    report.statuses[status] += 1
    logged = {e["id"]: e for e in events if e["source"] == "device"}
    expected = {item.event_id: (device, item) for device, item in captured}
    check, times = report.check(LOGGED), report.check(TIMES)
    check.checked += len(expected)
    for eid in sorted(set(logged) - set(expected)):
        check.fail(f"shipment {sid}: device event {eid} in the log that no device captured")
    entries = [
        _entry(parse_time(e["effective_at"]), e["source"], "", 0, e["id"], e["type"])
        for e in events
        if e["source"] != "device"
    ]
    for eid, (device, item) in sorted(expected.items()):
        event = logged.get(eid)
        what = f"shipment {sid} {device.device_id} seq {item.seq} {item.event['type']}"
        if event is None:
            check.fail(f"{what}: accepted but not in the log")
            continue
        if (event["device_id"], event["seq"], event["type"]) != (
            device.device_id,
            item.seq,
            item.event["type"],
        ):
            check.fail(f"{what}: logged as {event['device_id']} {event['seq']} {event['type']}")
        report.anomalies.update(event["anomalies"])
        at = parse_time(event["effective_at"])
        times.checked += 1
        if item.effective_at is not None and abs(at - item.effective_at) > TOLERANCE:
            times.fail(f"{what}: effective {event['effective_at']}, expected {item.effective_at}")
        if item.effective_at is None and "clock_suspect" not in event["anomalies"]:
            times.fail(f"{what}: a clock far ahead should be flagged clock_suspect")
        if item.anchored == ("clock_low_confidence" in event["anomalies"]):
            times.fail(f"{what}: anchored={item.anchored} but anomalies {event['anomalies']}")
        entries.append(
            _entry(
                item.effective_at or at,
                "device",
                device.device_id,
                item.seq,
                eid,
                item.event["type"],
            )
        )
    check = report.check(STATUSES)
    check.checked += 1
    want = reference_status(entries)
    if want != status:
        check.fail(f"shipment {sid}: server says {status}, the events say {want}")
