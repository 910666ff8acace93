"""The fleet bench's tables: p50/p99 per request kind and phase against the targets, errors by
status, the CPU of server, PostgreSQL and generator, the capacity, and the CPU budget."""

from __future__ import annotations

import os
from dataclasses import dataclass

from backend.bench.fleet.generator import Outcome
from backend.bench.fleet.spec import KINDS, KINDS_SSE, PHASES, TARGETS, FleetBench, Rates, Timeline
from backend.bench.table import machine, ms, verdict

CORES = os.cpu_count() or 1


@dataclass
class StepResult:
    drivers: int
    timeline: Timeline
    outcome: Outcome
    server_cpu: float
    postgres_cpu: float
    generator_cpu: float  # the generator processes' own CPU over the run
    wall: float
    generator_lifetime: float = 0.0  # getrusage of the children: start-up and signing included

    def p99_misses(self) -> list[str]:
        misses = []
        for kind, (target, judged_in) in TARGETS.items():
            for phase in PHASES:
                values = self.outcome.latencies.get((kind, phase), [])
                if values and (judged_in in (None, phase)) and ms(values, 99) > target:
                    misses.append(f"{kind} ({phase}) p99 {ms(values, 99):.0f} ms")
        return misses

    @property
    def errors(self) -> int:
        return sum(self.outcome.errors.values())

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.outcome.latencies.values()) + self.errors

    @property
    def passed(self) -> bool:
        return not self.p99_misses() and not self.errors

    def cores(self, seconds: float) -> float:
        return seconds / self.wall if self.wall else 0.0

    def summary(self) -> str:
        misses = self.p99_misses()
        return (
            f"{self.requests:,} requests, {self.errors:,} errors; server "
            f"{self.cores(self.server_cpu):.2f} + PostgreSQL {self.cores(self.postgres_cpu):.2f} "
            f"+ generator {self.cores(self.generator_cpu):.2f} cores"
            + (f"; misses: {', '.join(misses)}" if misses else "")
        )


@dataclass
class Calibration:
    figures: dict[str, tuple[float, float, int]]  # kind -> server s, PostgreSQL s, requests

    def per_request(self, kind: str) -> float:
        """Server + PostgreSQL CPU seconds per request of this kind."""
        server, postgres, count = self.figures[kind]
        return (server + postgres) / count if count else 0.0


def rates_per_driver(rates: Rates) -> dict[str, float]:
    """Steady requests per second per driver, by kind (snapshots: the shift start's 2 minutes)."""
    return {
        "ping": 1 / rates.ping_every,
        "push": 2 / sum(rates.push_every),
        "delta pull": 1 / rates.pull_every,
        "tracking page": rates.pages_per_driver_hour / 3600,
    }


def _step_table(step: StepResult) -> list[str]:
    out = step.outcome
    rows = [
        f"**{step.drivers:,} drivers** — {step.timeline.start:.0f} s shift start, "
        f"{step.timeline.steady:.0f} s steady, {step.timeline.end:.0f} s shift end "
        f"({step.wall:.0f} s wall)",
        "",
        "| request | phase | requests | p50 | p99 | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in (*KINDS, KINDS_SSE):
        for phase in PHASES:
            values = out.latencies.get((kind, phase))
            if not values:
                continue
            target, judged_in = TARGETS.get(kind, (None, None))
            judged = target is not None and judged_in in (None, phase)
            p99 = ms(values, 99)
            rows.append(
                f"| {kind} | {phase} | {len(values):,} | {ms(values, 50):.1f} ms | {p99:.1f} ms | "
                + (f"p99 ≤ {target:.0f} ms | {verdict(p99 <= target)} |" if judged else "— | — |")
            )
    errors = ", ".join(
        f"{kind} {status}: {n:,}" for (kind, status), n in sorted(out.errors.items())
    )
    lags = out.lags
    rows += [
        "",
        f"- errors: {errors or 'none'} ({verdict(not step.errors)}: zero errors)",
        f"- pushed events: {out.accepted:,} accepted, {out.rejected:,} rejected; SSE messages "
        f"received: {out.sse_messages:,}",
        f"- CPU over the run: server {step.server_cpu:.0f} s ({step.cores(step.server_cpu):.2f} "
        f"cores), PostgreSQL {step.postgres_cpu:.0f} s ({step.cores(step.postgres_cpu):.2f}), "
        f"generator {step.generator_cpu:.0f} s ({step.cores(step.generator_cpu):.2f}; "
        f"{step.generator_lifetime:.0f} s with its start-up); "
        f"{step.requests:,} requests, {_per_ms(step.server_cpu + step.postgres_cpu, step.requests)} "
        f"ms server + PostgreSQL and {_per_ms(step.generator_cpu, step.requests)} ms generator "
        "CPU per request",
        f"- generator lateness (scheduled → sent): p50 {ms(lags, 50):.1f} ms, p99 "
        f"{ms(lags, 99):.1f} ms, max {ms(lags, 100):.1f} ms",
        "",
    ]
    return rows


def _per_ms(seconds: float, count: int) -> str:
    return f"{1000 * seconds / count:.2f}" if count else "?"


def _capacity(steps: list[StepResult]) -> list[str]:
    rows = [
        "| drivers | requests | errors | server + PostgreSQL | generator | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for s in steps:
        misses = s.p99_misses()
        rows.append(
            f"| {s.drivers:,} | {s.requests:,} | {s.errors:,} | "
            f"{s.cores(s.server_cpu + s.postgres_cpu):.2f} cores | "
            f"{s.cores(s.generator_cpu):.2f} cores | "
            f"{'PASS' if s.passed else 'MISS: ' + '; '.join(misses or ['errors'])} |"
        )
    passing = [s.drivers for s in steps if s.passed]
    if passing:
        rows.append(
            "\nCapacity (the largest fleet meeting every p99 target with zero errors): "
            f"{max(passing):,} drivers"
        )
    else:
        rows.append("\nCapacity: no fleet size measured met every target.")
    rows.append("")
    return rows


def _budget(bench: FleetBench, calibration: Calibration) -> list[str]:
    """Measured CPU per request x the issue's rates: what a fleet costs, and what fits."""
    rows = [
        "| request (each kind alone) | server + PostgreSQL CPU per request | per driver per s "
        f"| at {bench.drivers:,} drivers |",
        "|---|---|---|---|",
    ]
    per_driver = 0.0
    for kind, rate in rates_per_driver(bench.rates).items():
        cost = calibration.per_request(kind)
        per_driver += cost * rate
        rows.append(
            f"| {kind} | {1000 * cost:.2f} ms | {rate:.4f} | {rate * bench.drivers:,.0f}/s x "
            f"{1000 * cost:.2f} ms = {rate * bench.drivers * cost:.2f} cores |"
        )
    snapshot = calibration.per_request("snapshot")
    start_rate = bench.drivers / bench.timeline.start
    rows += [
        f"| steady total | | {1000 * per_driver:.3f} ms CPU per driver per s | "
        f"{per_driver * bench.drivers:.2f} cores |",
        f"| snapshot (shift start: every driver within {bench.timeline.start:.0f} s) | "
        f"{1000 * snapshot:.2f} ms | {1 / bench.timeline.start:.4f} | {start_rate:,.0f}/s x "
        f"{1000 * snapshot:.2f} ms = {start_rate * snapshot:.2f} cores on top |",
        "",
        f"{CORES} cores, all of them for server and PostgreSQL (generator not counted), fit at "
        f"most {CORES / per_driver:,.0f} drivers in steady state"
        if per_driver
        else "",
    ]
    return rows


def render(
    bench: FleetBench,
    seeded: int,
    seed_seconds: float | None,
    steps: list[StepResult],
    calibration: Calibration | None,
) -> str:
    box = machine()
    load = os.getloadavg()
    lines = [
        f"Lastmile fleet bench, {box['date']}: {box['cpus']} CPUs, {box['memory']}, load "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; {bench.workers} API worker(s), pool "
        f"{bench.pool_size} each; generator {bench.procs} process(es) x {bench.connections} "
        f"connections, timeout {bench.timeout:.0f} s",
        f"Seeded {seeded:,} drivers x {bench.stops} stops set-based in {seed_seconds:.0f} s "
        "(VACUUM ANALYZE included)"
        if seed_seconds is not None
        else f"A fleet of at least {seeded:,} drivers x {bench.stops} stops seeded before (--reuse)",
        "",
    ]
    for step in steps:
        lines += _step_table(step)
    if bench.steps or len(steps) > 1:
        lines += ["Capacity search:", "", *_capacity(steps)]
    if calibration is not None:
        lines += ["CPU budget from the cost of each kind alone:", "", *_budget(bench, calibration)]
    return "\n".join(lines).rstrip() + "\n"
