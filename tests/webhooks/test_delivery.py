"""Deliveries to a real receiver: signatures, order, retries, disabling, crashes, races."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from backend.db.session import unit_of_work
from backend.shipments.schemas import ShipmentCreate
from backend.shipments.service import ShipmentService
from backend.webhooks import sender as sender_module
from backend.webhooks.sender import SCHEDULE, next_delay
from tests.factories import Api, shipment_body
from tests.partners.support import partner
from tests.webhooks.receiver import closed_port_url
from tests.webhooks.support import FakeClock, endpoint, use_clock, verify, worker


async def test_every_event_arrives_signed_and_in_sequence_order(
    hooks_api: Api, receiver, sessionmaker, db
) -> None:
    api = hooks_api
    hub = await api.hub()
    created = await endpoint(api, receiver.url)
    carrier_org, _ = await partner(api, "regional_courier")
    shipments = [await api.shipment(hub["id"]) for _ in range(3)]
    for s in shipments[:2]:
        await api.post(f"/v1/shipments/{s['id']}/handover", {"organization_id": carrier_org["id"]})
    await api.post(f"/v1/shipments/{shipments[2]['id']}/cancel")
    sent = await worker(sessionmaker).run_until_idle()
    assert sent == len(receiver.received) == 3 + 2 * 2 + 1
    by_shipment: dict[str, list[tuple[int, str]]] = {}
    for message in receiver.received:
        payload = verify(created["secret"], message)
        data = payload["data"]
        assert message.headers["webhook-id"].startswith("msg_")
        assert {
            "shipment_id",
            "reference",
            "tracking_number",
            "status",
            "sequence",
            "occurred_at",
        } <= set(data)
        by_shipment.setdefault(data["shipment_id"], []).append((data["sequence"], payload["type"]))
    for items in by_shipment.values():
        assert [n for n, _ in items] == list(range(1, len(items) + 1))
    assert [t for _, t in by_shipment[shipments[0]["id"]]] == [
        "shipment.created",
        "shipment.status_changed",
        "shipment.handed_over",
    ]
    assert len({m.headers["webhook-id"] for m in receiver.received}) == len(receiver.received)
    assert (
        await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
        == 0
    )


async def test_a_rolled_back_change_sends_nothing(
    hooks_api: Api, receiver, sessionmaker, db
) -> None:
    hub = await hooks_api.hub()
    await endpoint(hooks_api, receiver.url)
    data = ShipmentCreate.__struct_config__  # noqa: F841 - the Struct is built below
    import msgspec

    body = msgspec.convert(shipment_body(hub["id"]), ShipmentCreate)
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessionmaker) as session:
            await ShipmentService(session).create(body, None)
            assert (
                await session.scalar(
                    __import__("sqlalchemy").text("SELECT count(*) FROM webhook_deliveries")
                )
                == 1
            )
            raise RuntimeError("the change fails after the fan-out")
    assert await db.fetchval("SELECT count(*) FROM webhook_events") == 0
    assert await worker(sessionmaker).run_until_idle() == 0
    assert receiver.received == []


async def test_a_misbehaving_receiver_gets_everything_on_the_schedule(
    hooks_api: Api, receiver, sessionmaker, db, monkeypatch
) -> None:
    monkeypatch.setattr(sender_module, "TIMEOUT_SECONDS", 0.3)
    clock = FakeClock()
    use_clock(monkeypatch, clock)
    hub = await hooks_api.hub()
    created = await endpoint(hooks_api, receiver.url, ["shipment.created"])
    receiver.script.extend(["500", "slow:1", "429:600", "503", "big"])
    await hooks_api.shipment(hub["id"])
    run = worker(sessionmaker).run_until_idle
    moments = []
    for _ in range(6):
        await run()
        row = await db.fetchrow("SELECT status, attempts, next_attempt_at FROM webhook_deliveries")
        moments.append((row["status"], row["attempts"], row["next_attempt_at"] - clock.now))
        if row["status"] != "pending":
            break
        clock.now = row["next_attempt_at"] + timedelta(milliseconds=1)
    statuses = [m[0] for m in moments]
    assert statuses == ["pending"] * 4 + ["delivered"]
    # after the 500: ~5 s; after the timeout: ~5 min; 429 Retry-After 600 s wins over 30 min? no:
    # the schedule's 30 min is longer, so it stands; 503 without Retry-After: ~2 h.
    assert timedelta(seconds=4.4) <= moments[0][2] <= timedelta(seconds=5.6)
    assert timedelta(minutes=4.4) <= moments[1][2] <= timedelta(minutes=5.6)
    assert timedelta(minutes=26.9) <= moments[2][2] <= timedelta(minutes=33.1)
    attempts = await db.fetch(
        "SELECT attempt, status_code, error FROM webhook_attempts ORDER BY id"
    )
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [
        (1, 500),
        (2, None),
        (3, 429),
        (4, 503),
        (5, 200),
    ]
    assert "timeout" in attempts[1]["error"]
    ids = {m.headers["webhook-id"] for m in receiver.received}
    assert len(ids) == 1  # the same webhook-id on every retry
    verify(created["secret"], receiver.received[0])  # later ones are dated by the moved clock


def test_retry_after_is_honoured_and_the_schedule_ends_after_three_days() -> None:
    import random

    rng = random.Random(1)
    assert next_delay(1, timedelta(hours=1), rng) >= timedelta(hours=1)
    assert next_delay(1, timedelta(days=30), rng) <= timedelta(hours=24)
    total = sum((next_delay(n, None, rng) for n in range(1, len(SCHEDULE) + 1)), timedelta())
    assert timedelta(days=2.8) <= total <= timedelta(days=3.4)
    assert next_delay(len(SCHEDULE) + 1, None, rng) is None


async def test_410_disables_and_five_failing_days_disable_with_an_incident(
    hooks_api: Api, receiver, sessionmaker, db, monkeypatch
) -> None:
    clock = FakeClock()
    use_clock(monkeypatch, clock)
    hub = await hooks_api.hub()
    gone = await endpoint(hooks_api, receiver.url, ["shipment.created"])
    dead = await endpoint(hooks_api, closed_port_url(), ["shipment.created"])
    receiver.script.append("410")
    await hooks_api.shipment(hub["id"])
    await worker(sessionmaker).run_until_idle()
    endpoints = {r["id"].hex: r for r in await db.fetch("SELECT * FROM webhook_endpoints")}
    assert endpoints[gone["id"].replace("-", "")]["disabled_reason"] == "gone"
    assert endpoints[dead["id"].replace("-", "")]["enabled"] is True
    for _ in range(12):
        await hooks_api.shipment(hub["id"])
        clock.advance(hours=12)
        await worker(sessionmaker).run_until_idle()
    row = await db.fetchrow(
        "SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1",
        __import__("uuid").UUID(dead["id"]),
    )
    assert (row["enabled"], row["disabled_reason"]) == (False, "failing")
    incidents = await db.fetch("SELECT kind, data FROM incidents")
    assert {i["kind"] for i in incidents} == {"webhook_endpoint_disabled"}
    assert len(incidents) == 2


async def test_a_worker_killed_after_the_2xx_redelivers_with_the_same_id(
    hooks_api: Api, receiver, sessionmaker, db, monkeypatch
) -> None:
    clock = FakeClock()
    use_clock(monkeypatch, clock)
    hub = await hooks_api.hub()
    await endpoint(hooks_api, receiver.url, ["shipment.created"])
    await hooks_api.shipment(hub["id"])
    doomed = worker(sessionmaker)

    async def die(*_: object) -> None:
        raise KeyboardInterrupt  # the process is killed before it records the 2xx

    monkeypatch.setattr(doomed, "_record", die)
    with pytest.raises(KeyboardInterrupt):
        await doomed.run_until_idle()
    assert len(receiver.received) == 1
    assert await worker(sessionmaker).run_until_idle() == 0  # the lease still holds
    clock.advance(seconds=61)
    assert await worker(sessionmaker).run_until_idle() == 1
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert await db.fetchval("SELECT status FROM webhook_deliveries") == "delivered"


async def test_two_workers_never_send_the_same_attempt(
    hooks_api: Api, receiver, sessionmaker, db
) -> None:
    hub = await hooks_api.hub()
    await endpoint(hooks_api, receiver.url, ["shipment.created"])
    bulk = [shipment_body(hub["id"]) for _ in range(150)]
    assert (await hooks_api.post("/v1/shipments/bulk", {"shipments": bulk})).status_code == 200
    a, b = worker(sessionmaker, claim_size=20), worker(sessionmaker, claim_size=20)
    counts = await asyncio.gather(a.run_until_idle(), b.run_until_idle())
    assert sum(counts) == 150
    seen = Counter(m.headers["webhook-id"] for m in receiver.received)
    assert len(seen) == 150 and set(seen.values()) == {1}
    assert await db.fetchval("SELECT count(*) FROM webhook_attempts") == 150


async def test_one_dead_endpoint_does_not_hold_up_the_others(
    hooks_api: Api, receiver, sessionmaker, db, monkeypatch
) -> None:
    monkeypatch.setattr(sender_module, "TIMEOUT_SECONDS", 2)
    hub = await hooks_api.hub()
    slow = await endpoint(hooks_api, receiver.url + "/slow", ["shipment.created"])
    await endpoint(hooks_api, receiver.url, ["shipment.created"])
    await hooks_api.post(
        "/v1/shipments/bulk", {"shipments": [shipment_body(hub["id"]) for _ in range(40)]}
    )
    w = worker(sessionmaker, per_endpoint=2, max_in_flight=16, claim_size=8)
    stop = asyncio.Event()
    task = asyncio.create_task(w.run(stop))
    await asyncio.sleep(2.5)
    stop.set()
    await task
    healthy = await db.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered' AND endpoint_id <> $1",
        __import__("uuid").UUID(slow["id"]),
    )
    assert healthy == 40  # all of the healthy endpoint's, while the slow one holds two slots


async def test_one_endpoints_backlog_does_not_starve_another(
    hooks_api: Api, receiver, sessionmaker, db
) -> None:
    from backend.db.session import unit_of_work as uow
    from backend.lib.clock import utcnow
    from backend.webhooks.queue import DeliveryQueue

    hub = await hooks_api.hub()
    busy = await endpoint(hooks_api, receiver.url + "/busy", ["shipment.created"])
    bulk = [shipment_body(hub["id"]) for _ in range(60)]
    await hooks_api.post("/v1/shipments/bulk", {"shipments": bulk})
    late = await endpoint(hooks_api, receiver.url + "/late", ["shipment.created"])
    await hooks_api.shipment(hub["id"])
    async with uow(sessionmaker) as session:
        rows = await DeliveryQueue(session).claim(
            utcnow() + timedelta(seconds=1),
            6,
            per_endpoint=3,
            busy_endpoints=[],
            lease=timedelta(seconds=60),
        )
    by_endpoint = Counter(str(row["endpoint_id"]) for row in rows)
    assert by_endpoint[late["id"]] == 1  # claimed at once, behind nothing
    assert by_endpoint[busy["id"]] == 3  # at most per_endpoint of the backlog


async def test_a_dead_endpoint_is_probed_one_delivery_at_a_time(
    hooks_api: Api, sessionmaker, db, monkeypatch
) -> None:
    clock = FakeClock()
    use_clock(monkeypatch, clock)
    hub = await hooks_api.hub()
    await endpoint(hooks_api, closed_port_url(), ["shipment.created"])
    for _ in range(5):
        await hooks_api.shipment(hub["id"])
    await worker(sessionmaker).run_until_idle()
    assert await db.fetchval("SELECT count(*) FROM webhook_attempts") == 5  # not yet known dead
    for _ in range(3):  # each retry step: one probe; the others wait with it
        clock.now = await db.fetchval(
            "SELECT min(next_attempt_at) FROM webhook_deliveries"
        ) + timedelta(milliseconds=1)
        await worker(sessionmaker).run_until_idle()
    assert await db.fetchval("SELECT count(*) FROM webhook_attempts") == 5 + 3
    assert (
        await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'") == 5
    )
