"""What a fleet run is: its size, its phases, the actors' rates, and the targets."""

from __future__ import annotations

from dataclasses import dataclass, field

PHASES = ("shift start", "steady", "shift end")
KINDS = ("snapshot", "delta pull", "push", "ping", "tracking page", "dispatch edit", "flush")
KINDS_SSE = "stream open"
# p99 targets in ms, per request kind, in the phase they are judged in (None: every phase).
TARGETS: dict[str, tuple[float, str | None]] = {
    "push": (150.0, None),
    "ping": (50.0, None),
    "delta pull": (50.0, None),
    "snapshot": (100.0, "shift start"),
    "tracking page": (50.0, None),
    "flush": (500.0, "shift end"),
}


@dataclass(frozen=True)
class Timeline:
    """Seconds from the run's start: shift start [0, start), steady [start, start + steady),
    shift end [.., + end)."""

    start: float = 120.0
    steady: float = 300.0
    end: float = 60.0

    @property
    def end_begins(self) -> float:
        return self.start + self.steady

    @property
    def total(self) -> float:
        return self.start + self.steady + self.end

    def phase(self, t: float) -> str:
        if t < self.start:
            return PHASES[0]
        return PHASES[1] if t < self.end_begins else PHASES[2]


@dataclass(frozen=True)
class Rates:
    """The issue's rates per driver; recipients and dispatch per driver and hour."""

    push_every: tuple[float, float] = (30.0, 60.0)  # uniform, seconds
    push_events: tuple[int, int] = (1, 20)
    ping_every: float = 10.0
    pull_every: float = 60.0
    flush_share: float = 0.25
    flush_events: int = 200
    pages_per_driver_hour: float = 24.0  # ~120 recipients a day, some opening the page twice
    edits_per_driver_hour: float = 2.0
    streams_per_driver: float = 0.05  # recipients keeping the live page open


@dataclass(frozen=True)
class FleetBench:
    database_url: str
    drivers: int = 20_000
    stops: int = 120
    timeline: Timeline = field(default_factory=Timeline)
    rates: Rates = field(default_factory=Rates)
    steps: tuple[int, ...] = ()
    search_timeline: Timeline = field(default_factory=lambda: Timeline(60.0, 60.0, 30.0))
    full_run: bool = True
    search_past_miss: bool = False  # measure every size, not only up to the first miss
    workers: int = 2
    pool_size: int = 10
    procs: int = 2
    connections: int = 64  # keep-alive connections per generator process
    timeout: float = 10.0  # seconds from a request's scheduled time; later is an error
    calibrate: bool = True
    reuse: bool = False  # a fleet already seeded in the database, if large enough

    @property
    def seeded(self) -> int:
        sizes = [*self.steps, *([self.drivers] if self.full_run else [])]
        return max(sizes) if sizes else self.drivers
