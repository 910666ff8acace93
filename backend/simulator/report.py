"""What a simulated day did and what its verification found."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_SHOWN = 8  # problems listed per check in the summary


@dataclass
class Check:
    name: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, problem: str) -> None:
        self.problems.append(problem)


@dataclass
class Report:
    run_id: str = ""
    seed: int = 0
    elapsed_s: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # setup / day / verify, seconds
    stats: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)  # accepted / duplicate / rejected:reason
    statuses: Counter[str] = field(default_factory=Counter)  # final shipment statuses
    anomalies: Counter[str] = field(default_factory=Counter)  # on device events, server side
    dispatch: list[str] = field(default_factory=list)
    checks: dict[str, Check] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # push / pull, seconds

    def timed(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def check(self, name: str) -> Check:
        return self.checks.setdefault(name, Check(name))

    def server_error(self, what: str, status: int, body: Any) -> None:
        self.server_errors.append(f"{what} -> {status}: {str(body)[:300]}")

    @property
    def ok(self) -> bool:
        return not self.server_errors and all(check.ok for check in self.checks.values())

    def render(self) -> str:
        s = self.stats
        lines = [
            f"simulated day {self.run_id} (seed {self.seed}): {s['devices']} devices, "
            f"{s['shipments']} shipments, {self.elapsed_s:.1f} s ("
            + ", ".join(f"{name} {secs:.1f} s" for name, secs in self.phases.items())
            + ")",
            f"  events captured {s['captured']} "
            f"({s['captured'] / max(self.phases.get('day', 0), 1e-9):.0f}/s over the day)"
            f" in {s['pushes']} pushes; pulls {s['pulls']}",
            f"  chaos: offline stretches {s['offline']}, lost answers replayed {s['replays']}, "
            f"batches re-sent {s['resent']}, reordered sends {s['reordered']}, "
            f"reboots {s['reboots']}, skewed clocks {s['skewed']}, stray scans {s['poison']}, "
            f"transport errors {s['transport_errors']}",
            *(
                f"  {kind} latency p50 {_pct(values, 50):.1f} ms, p99 {_pct(values, 99):.1f} ms"
                f" ({len(values)} requests)"
                for kind, values in sorted(self.latencies.items())
            ),
            "  results: " + _counts(self.results),
            "  anomalies on device events: " + (_counts(self.anomalies) or "none"),
            "  final statuses: " + _counts(self.statuses),
        ]
        if self.dispatch:
            lines.append("  dispatcher:")
            lines += [f"    - {line}" for line in self.dispatch]
        lines.append("verification:")
        for check in self.checks.values():
            mark = "ok  " if check.ok else "FAIL"
            lines.append(f"  {mark} {check.name} ({check.checked} checked)")
            lines += [f"       {p}" for p in check.problems[:MAX_SHOWN]]
            if len(check.problems) > MAX_SHOWN:
                lines.append(f"       ... and {len(check.problems) - MAX_SHOWN} more")
        if self.server_errors:
            lines.append(f"  FAIL server errors ({len(self.server_errors)})")
            lines += [f"       {e}" for e in self.server_errors[:MAX_SHOWN]]
        lines.append("RESULT: " + ("all checks passed" if self.ok else "MISMATCH"))
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items()))


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if values else 0.0
