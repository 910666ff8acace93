"""Figures, targets and verdicts, printed as a Markdown table."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from backend.bench.load import PushRun
from backend.bench.pulls import PullRun
from backend.bench.server import CpuMeter

TARGET_EVENTS_PER_S = 20_000
TARGET_RAW_RATIO = 0.3
TARGET_SNAPSHOT_P99_MS = 25.0
TARGET_DELTA_P99_MS = 10.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def ms(values: list[float], pct: float) -> float:
    return 1000 * percentile(values, pct)


@dataclass
class WorkerResult:
    workers: int
    push: PushRun
    cpu: CpuMeter
    snapshot: PullRun
    delta: PullRun
    seed_seconds: float
    pull_cpu: dict[str, CpuMeter] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.push.events / self.push.elapsed if self.push.elapsed else 0.0

    @property
    def batches(self) -> int:
        return len(self.push.latencies)


def machine() -> dict[str, str]:
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    return {
        "date": dt.date.today().isoformat(),
        "cpus": str(os.cpu_count()),
        "memory": memory,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _per(seconds: float, count: int) -> str:
    return f"{1000 * seconds / count:.1f}" if count else "?"


def _push_rows(r: WorkerResult, raw_rate: float) -> list[str]:
    p = r.push
    rows = [
        f"| push, end to end | {r.workers} | {r.rate:,.0f} events/s "
        f"({p.events:,} in {p.elapsed:.1f} s) | ≥ {TARGET_EVENTS_PER_S:,} events/s | "
        f"{verdict(r.rate >= TARGET_EVENTS_PER_S)} |",
        f"| push latency per batch | {r.workers} | p50 {ms(p.latencies, 50):.1f} ms, "
        f"p99 {ms(p.latencies, 99):.1f} ms | — | — |",
    ]
    if raw_rate:
        ratio = r.rate / raw_rate
        rows.append(
            f"| end to end / raw | {r.workers} | {ratio:.2f} | ≥ {TARGET_RAW_RATIO} | "
            f"{verdict(ratio >= TARGET_RAW_RATIO)} |"
        )
    rows.append(
        f"| CPU per push batch: server / PostgreSQL / client | {r.workers} | "
        f"{_per(r.cpu.server, r.batches)} / {_per(r.cpu.postgres, r.batches)} / "
        f"{_per(p.client_cpu, r.batches)} ms | — | — |"
    )
    return rows


def _pull_rows(r: WorkerResult) -> list[str]:
    rows = []
    for name, run, target in (
        ("snapshot", r.snapshot, TARGET_SNAPSHOT_P99_MS),
        ("delta", r.delta, TARGET_DELTA_P99_MS),
    ):
        size = sum(run.sizes) / len(run.sizes) / 1024 if run.sizes else 0
        changes = sum(run.changes) / len(run.changes) if run.changes else 0
        p99 = ms(run.latencies, 99)
        ok = bool(run.latencies) and not run.errors and p99 <= target
        rows.append(
            f"| {name} pull ({changes:.0f} changes, {size:.0f} kB) | {r.workers} | "
            f"p50 {ms(run.latencies, 50):.1f} ms, p99 {p99:.1f} ms "
            f"({len(run.latencies)} requests) | p99 ≤ {target:.0f} ms | {verdict(ok)} |"
        )
        meter = r.pull_cpu.get(name)
        if meter:
            count = len(run.latencies)
            rows.append(
                f"| CPU per {name} pull: server / PostgreSQL | {r.workers} | "
                f"{_per(meter.server, count)} / {_per(meter.postgres, count)} ms | — | — |"
            )
    return rows


def render(results: list[WorkerResult], raw: tuple[PushRun, CpuMeter] | None) -> str:
    raw_run, raw_cpu = raw if raw else (None, None)
    raw_rate = raw_run.events / raw_run.elapsed if raw_run and raw_run.elapsed else 0.0
    rows = [
        "| measure | workers | figure | target | verdict |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        rows += _push_rows(r, raw_rate) + _pull_rows(r)
    if raw_run and raw_cpu:
        batches = len(raw_run.latencies)
        rows.append(
            f"| raw: asyncpg unnest into sync_events | — | {raw_rate:,.0f} events/s "
            f"({raw_run.events:,} in {raw_run.elapsed:.1f} s; batch p50 "
            f"{ms(raw_run.latencies, 50):.1f} ms, p99 {ms(raw_run.latencies, 99):.1f} ms; "
            f"PostgreSQL {_per(raw_cpu.postgres, batches)} ms CPU per batch) | — | — |"
        )
    return "\n".join(rows)
