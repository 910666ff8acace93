"""A small simulated day through the test client: chaos on the way, convergence at the end."""

from litestar.testing import AsyncTestClient

from backend.simulator import SimConfig, simulate
from backend.simulator.verify import reference_status
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

# Rates well above the defaults, so a day of a few stops still meets every kind of trouble.
ROUGH_DAY = SimConfig(
    devices=3,
    stops_per_route=8,
    seed=11,
    spare_shipments=2,
    step_delay=0,
    offline_rate=0.3,
    offline_stops=(2, 4),
    max_batch=5,
    lost_response_rate=0.4,
    duplicate_rate=0.3,
    reorder_rate=0.6,
    skewed_devices=1,
    max_skew_hours=60,
    reboot_rate=0.05,
    poison_rate=0.15,
    action_timeout=5,
)


async def test_a_rough_simulated_day_converges(client: AsyncTestClient) -> None:
    report = await simulate(
        client, ROUGH_DAY, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD
    )
    assert report.ok, report.render()
    stats = report.stats
    assert stats["offline"] > 0 and stats["replays"] > 0 and stats["resent"] > 0
    assert stats["skewed"] == 1 and stats["poison"] > 0
    assert report.results["rejected:unknown_barcode"] == stats["poison"]
    assert sum(report.statuses.values()) == 3 * 8 + 2
    done = [line for line in report.dispatch if "skipped" not in line]
    assert len(done) >= 6, report.dispatch


async def test_a_second_day_on_the_same_database_sets_up_its_own_fleet(
    client: AsyncTestClient,
) -> None:
    calm = SimConfig(devices=2, stops_per_route=3, seed=3, step_delay=0, dispatcher=False)
    for _ in range(2):
        report = await simulate(
            client, calm, admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD
        )
        assert report.ok, report.render()


def test_the_reference_model_lets_physical_facts_win() -> None:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 11, 23, 9, tzinfo=UTC)

    def at(minutes: int, type_: str, source: str) -> tuple:
        return (type_ != "created", t + timedelta(minutes=minutes), 0, "", 0, "", type_, source)

    created = at(0, "created", "dispatch")
    assert reference_status([created, at(5, "cancelled", "dispatch")]) == "cancelled"
    assert (
        reference_status([created, at(5, "cancelled", "dispatch"), at(9, "delivered", "device")])
        == "delivered"
    )
    assert (
        reference_status([created, at(5, "delivered", "device"), at(9, "cancelled", "dispatch")])
        == "delivered"
    )
    assert reference_status([at(-99, "scan_hub_in", "device"), created]) == "at_hub"


async def test_a_day_with_a_breakdown_recovers_the_affected_stops(settings) -> None:
    """The simulator's --disruption day, in-process, with the worker inside the app: without
    travel noise the drivers drive exactly the planner's model, so every affected stop is
    delivered in its window."""
    from backend.app import create_app
    from backend.simulator.disruption import simulate_disruption
    from backend.simulator.disruption_spec import parse_disruption
    from tests.conftest import make_settings

    app = create_app(make_settings(embedded_worker=True, worker_poll_seconds=0.1))
    async with AsyncTestClient(app=app, timeout=60) as client:
        report = await simulate_disruption(
            client,
            parse_disruption("breakdown@11:00"),
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
            drivers=3,
            stops=6,
            seed=5,
            travel_noise=0.0,
        )
    assert report.affected > 0, report.render()
    assert report.outcome["affected"] == report.affected
    assert report.impact["spare_drivers_used"] == 1
    assert report.share == 1.0, report.render()
    assert report.recovered_after_min is not None and report.recovered_after_min > 0
