"""One simulated day, from fleet setup to verification, over any httpx-compatible client."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx

from backend.simulator.clock import DeviceClock
from backend.simulator.config import SimConfig
from backend.simulator.device import Device
from backend.simulator.dispatcher import Dispatcher
from backend.simulator.driver import Progress, drive
from backend.simulator.fleet import Fleet, setup_fleet
from backend.simulator.http import ApiClient
from backend.simulator.report import Report
from backend.simulator.verify import verify


def make_devices(root: ApiClient, fleet: Fleet, config: SimConfig, report: Report) -> list[Device]:
    rng = random.Random(f"{config.seed}:clocks")
    skewed = set(rng.sample(range(config.devices), min(config.skewed_devices, config.devices)))
    devices = []
    for seat in fleet.seats:
        clock = DeviceClock(uptime_ms=rng.randint(60_000, 86_400_000))
        if seat.index in skewed:
            hours = rng.uniform(1, config.max_skew_hours) * rng.choice((-1, 1))
            clock.skew = timedelta(hours=hours)
            report.stats["skewed"] += 1
        device_rng = random.Random(f"{config.seed}:device:{seat.index}")
        devices.append(Device(seat, root, config, report, device_rng, clock))
    return devices


async def simulate(
    http: httpx.AsyncClient,
    config: SimConfig,
    *,
    admin_email: str,
    admin_password: str,
    run_id: str | None = None,
    say: Callable[[str], None] | None = None,
) -> Report:
    """Set up a fleet, run its day with a dispatcher interfering, and verify the result.
    `say` hears what is going on (phases, then the day's progress every few seconds)."""
    say = say or (lambda _: None)
    run_id = run_id or uuid.uuid4().hex[:8]
    report = Report(run_id=run_id, seed=config.seed)
    started = time.perf_counter()
    root = ApiClient(http)
    admin = await root.sign_in(admin_email, admin_password)
    say(f"setting up {config.devices} drivers with {config.stops_per_route} stops each")
    fleet = await setup_fleet(admin, config, run_id)
    report.phases["setup"] = time.perf_counter() - started
    report.stats["devices"] = config.devices
    report.stats["shipments"] = len(fleet.shipments)
    devices = make_devices(root, fleet, config, report)
    progress = Progress(config.devices * config.stops_per_route, devices)
    dispatcher = Dispatcher(admin, fleet, devices, config, report, progress)
    reporter = asyncio.create_task(_report_progress(progress, say))
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(dispatcher.run())
            for device in devices:
                group.create_task(drive(device, dispatcher.done, progress))
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    report.stats["reboots"] = sum(device.clock.reboots for device in devices)
    report.phases["day"] = time.perf_counter() - started - report.phases["setup"]
    say(f"day done: {progress.visits}/{progress.total} stops; verifying convergence")
    await verify(admin, fleet, devices, report)
    report.elapsed_s = time.perf_counter() - started
    report.phases["verify"] = report.elapsed_s - report.phases["day"] - report.phases["setup"]
    return report


async def _report_progress(progress: Progress, say: Callable[[str], None], every: float = 2.0):
    started = time.perf_counter()
    while True:
        await asyncio.sleep(every)
        done = progress.visits
        say(
            f"day: {done}/{progress.total} stops ({100 * done / progress.total:.0f} %), "
            f"{time.perf_counter() - started:.0f} s"
        )
