"""The knobs of a simulated day. Every random choice is drawn from generators seeded by `seed`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class SimConfig:
    devices: int = 4
    stops_per_route: int = 20
    seed: int = 1
    spare_shipments: int = 3  # unrouted shipments the dispatcher may add to a route
    date: dt.date | None = None  # route date; today (UTC) when None
    # pace
    step_delay: float = 0.01  # seconds a device waits between stops
    sync_rate: float = 0.3  # chance per stop that an online device pushes and pulls
    # connectivity and transport chaos
    offline_rate: float = 0.12  # chance per stop that an online device loses coverage
    offline_stops: tuple[int, int] = (3, 10)  # how many stops an offline stretch lasts
    max_batch: int = 12  # events per push: 1..max_batch
    lost_response_rate: float = 0.15  # the answer is lost: the same batch is sent again
    duplicate_rate: float = 0.1  # an answered batch is sent again under a new batch id
    reorder_rate: float = 0.3  # with two batches queued, send the second first
    # clocks
    skewed_devices: int = 1  # how many devices have a wall clock off by hours or days
    max_skew_hours: float = 72.0
    reboot_rate: float = 0.02  # chance per stop of a reboot (new boot id, monotonic restarts)
    # what drivers do
    fail_rate: float = 0.15  # a delivery attempt fails
    note_rate: float = 0.1  # a note about the shipment
    poison_rate: float = 0.03  # a scan of a stray label that no manifest knows (rejected)
    dispatcher: bool = True
    # limits
    action_timeout: float = 20.0  # seconds the dispatcher waits for a precondition
    concurrency: int = 8  # parallel requests during setup and verification
    verbose: bool = False

    @property
    def route_date(self) -> dt.date:
        return self.date or dt.datetime.now(dt.UTC).date()
