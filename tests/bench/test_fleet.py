"""`scripts/bench fleet` in small: a dozen drivers for a few seconds of each phase, every kind of
request at compressed rates, against a real server. Structure and zero errors; no timings."""

import os

from backend.bench.fleet.run import run_fleet
from backend.bench.fleet.spec import KINDS, PHASES, TARGETS, FleetBench, Rates, Timeline
from backend.db.scratch import drop_database, with_database
from tests.conftest import TEST_URL

QUICK = Rates(
    push_every=(1.0, 2.0),
    ping_every=1.0,
    pull_every=2.0,
    pages_per_driver_hour=1_800.0,
    edits_per_driver_hour=600.0,
    streams_per_driver=0.5,
)


async def test_a_small_fleet_reports_every_kind_with_zero_errors() -> None:
    url = with_database(TEST_URL, os.path.basename(TEST_URL) + "_bench_fleet")
    bench = FleetBench(
        url,
        drivers=12,
        stops=20,
        timeline=Timeline(3.0, 5.0, 3.0),
        rates=QUICK,
        steps=(4,),
        search_timeline=Timeline(2.0, 2.0, 2.0),
        workers=1,
        pool_size=4,
        procs=2,
        connections=4,
        timeout=60.0,  # a shared, busy machine may be slow; errors here mean faults, not load
    )
    lines: list[str] = []
    try:
        run = await run_fleet(bench, lines.append)
    finally:
        await drop_database(url, marker="bench")

    assert [step.drivers for step in run.steps] == [4, 12]
    full = run.steps[-1]
    assert dict(full.outcome.errors) == {}
    assert full.outcome.rejected == 0
    assert full.outcome.accepted > 0
    kinds = {kind for kind, _ in full.outcome.latencies}
    assert kinds == {*KINDS, "stream open"}
    assert {phase for _, phase in full.outcome.latencies} == set(PHASES)
    assert full.server_cpu > 0 and full.postgres_cpu > 0 and full.generator_cpu > 0

    table = run.table
    assert "**12 drivers**" in table and "**4 drivers**" in table
    assert "| request | phase | requests | p50 | p99 | target | verdict |" in table
    for kind, (target, _) in TARGETS.items():
        assert f"| {kind} |" in table and f"p99 ≤ {target:.0f} ms" in table
    assert "- errors: none (PASS: zero errors)" in table
    assert "Capacity search:" in table and "CPU budget" in table
    assert run.calibration is not None
    assert set(run.calibration.figures) == {
        "snapshot",
        "delta pull",
        "push",
        "ping",
        "tracking page",
    }
    assert any("seeding 12 drivers" in line for line in lines)
