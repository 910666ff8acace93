"""P1 to P9 of the offline sync protocol (DESIGN.md), as Hypothesis properties on real PostgreSQL.

Each example builds its own shipments on a fresh published route, so examples never see each
other's data; drivers (and their handhelds) are made once per test.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from backend.app import create_app
from tests.factories import Api
from tests.sync.factories import Handheld, at, fleet

PROPERTY = settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain"
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A shipment's day as a handheld sees it; each story is a path through the delivery process.
STORIES = [
    ["scan_hub_in", "scan_loaded", "arrived", "delivered"],
    ["scan_hub_in", "scan_loaded", "arrived", "delivery_failed", "returned_to_hub"],
    ["scan_hub_in", "scan_loaded", "delivery_failed", "scan_loaded", "delivered"],
    ["scan_hub_in", "note", "scan_loaded"],
    ["scan_loaded", "arrived", "delivered", "note"],
]
DATA = {
    "delivered": {"handoff": "recipient", "recipient_name": "R"},
    "delivery_failed": {"reason": "recipient_absent"},
    "note": {"text": "left a card"},
}


@dataclass
class Plan:
    """What one handheld captured: per shipment index, a story, in capture (seq) order."""

    steps: list[tuple[int, str, int]]  # (shipment index, type, second of the day)


@st.composite
def plans(draw: st.DrawFn, shipments: int = 3) -> Plan:
    stories = [draw(st.sampled_from(STORIES)) for _ in range(shipments)]
    cursors = [0] * shipments
    steps: list[tuple[int, str, int]] = []
    second = 0
    while any(cursors[i] < len(stories[i]) for i in range(shipments)):
        i = draw(st.sampled_from([i for i in range(shipments) if cursors[i] < len(stories[i])]))
        second += draw(st.integers(1, 600))
        steps.append((i, stories[i][cursors[i]], second))
        cursors[i] += 1
    return Plan(steps)


def splits(n: int) -> st.SearchStrategy[list[int]]:
    """Batch sizes adding up to n."""
    return st.lists(st.integers(1, 4), min_size=1, max_size=n).map(lambda sizes: _fit(sizes, n))


def _fit(sizes: list[int], n: int) -> list[int]:
    out, total = [], 0
    for size in sizes:
        if total >= n:
            break
        out.append(min(size, n - total))
        total += out[-1]
    if total < n:
        out.append(n - total)
    return out


@dataclass
class World:
    """One driver's fresh route of shipments and the handheld that works it."""

    api: Api
    device: Handheld
    route: dict[str, Any]
    shipments: list[dict[str, Any]]
    start: datetime

    def events(
        self, plan: Plan, *, skew: timedelta = timedelta(0), anchored: bool = False
    ) -> list[dict]:
        """The plan as this handheld's events: fresh ids, contiguous seqs, a day that started an
        hour ago. With `anchored`, times come from a monotonic clock anchored at `start`."""
        out = []
        for shipment_index, type_, second in plan.steps:
            moment = self.start + timedelta(seconds=second)
            event = self.device.event(type_, shipment_id=self.shipments[shipment_index]["id"])
            event["occurred_at"] = at(moment + skew)
            if type_ in DATA:
                event["data"] = DATA[type_]
            if anchored:
                event["clock"] = {
                    "boot_id": "boot-1",
                    "mono_ms": 5_000_000 + second * 1000,
                    "anchor": {
                        "boot_id": "boot-1",
                        "mono_ms": 5_000_000,
                        "server_time": at(self.start),
                    },
                }
            out.append(event)
        return out

    async def projection(self) -> list[tuple[Any, ...]]:
        """Per shipment (by index): status, attempts, delivered_at and the folded event types."""
        out = []
        for shipment in self.shipments:
            read = (await self.api.get(f"/v1/shipments/{shipment['id']}")).json()
            events = (await self.api.get(f"/v1/shipments/{shipment['id']}/events")).json()["items"]
            device_types = [e["type"] for e in events if e["source"] == "device"]
            out.append((read["status"], read["attempts"], read["delivered_at"], device_types))
        return out


async def world(
    api: Api, device: Handheld, driver: dict[str, Any], hub: dict[str, Any], n: int = 3
) -> World:
    shipments = [await api.shipment(hub["id"]) for _ in range(n)]
    route = await api.route(driver["id"], hub["id"], [s["id"] for s in shipments])
    route = await api.publish_route(route["id"])
    device.seq = iter(range(1, 10**9))  # a fresh handheld install per world: seqs restart
    device.device_id = f"device-{uuid.uuid4().hex[:8]}"
    device.api = await api.as_driver(driver, device.device_id)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    return World(api, device, route, shipments, start)


def batches(events: list[dict], sizes: list[int]) -> list[list[dict]]:
    out, position = [], 0
    for size in sizes:
        out.append(events[position : position + size])
        position += size
    return out


async def push_all(
    device: Handheld, parts: list[list[dict]], order: list[int] | None = None
) -> list[tuple[str, list[dict]]]:
    sent = [(str(uuid.uuid4()), part) for part in parts]
    for index in order or range(len(sent)):
        batch_id, part = sent[index]
        await device.push(part, batch_id)
    return sent


# P1 ------------------------------------------------------------------------------------------


@PROPERTY
@given(plan=plans(), data=st.data())
async def test_p1_replaying_accepted_batches_changes_nothing(api, db, plan, data) -> None:
    f = await fleet(api, per_route=0)
    w = await world(api, f.handhelds[0], f.drivers[0], f.hub)
    events = w.events(plan)
    sent = await push_all(w.device, batches(events, data.draw(splits(len(events)))))
    before = await w.projection()
    counts = await db.fetchval("SELECT count(*) FROM shipment_events")
    for batch_id, part in data.draw(st.permutations(sent)):
        replay = await w.device.push(part, batch_id)  # same batch id: the stored answer
        assert all(r["status"] in ("accepted", "duplicate") for r in replay["results"])
        again = await w.device.push(part)  # new batch id, same events: duplicates
        assert {r["status"] for r in again["results"]} == {"duplicate"}
    assert await w.projection() == before
    assert await db.fetchval("SELECT count(*) FROM shipment_events") == counts


# P2 and P3 -----------------------------------------------------------------------------------


@PROPERTY
@given(plan=plans(), data=st.data())
async def test_p2_p3_any_arrival_order_and_any_batching_give_the_same_projection(
    api, plan, data
) -> None:
    f = await fleet(api, drivers=2, per_route=0)
    reference = await world(api, f.handhelds[0], f.drivers[0], f.hub)
    other = await world(api, f.handhelds[1], f.drivers[1], f.hub)
    other.start = reference.start  # the same day for both, or delivered_at differs
    first = reference.events(plan)
    second = other.events(plan)
    await push_all(reference.device, batches(first, [len(first)]))
    parts = batches(second, data.draw(splits(len(second))))
    order = data.draw(st.permutations(range(len(parts))))
    await push_all(other.device, parts, list(order))
    assert await other.projection() == await reference.projection()


# P4 ------------------------------------------------------------------------------------------


@PROPERTY
@given(plan=plans(), data=st.data())
async def test_p4_dispatch_actions_anywhere_give_the_same_final_state(api, plan, data) -> None:
    f = await fleet(api, drivers=2, per_route=0)
    worlds = [await world(api, f.handhelds[n], f.drivers[n], f.hub) for n in range(2)]
    worlds[1].start = worlds[0].start
    actions = data.draw(
        st.lists(st.tuples(st.sampled_from(["cancel", "notes"]), st.integers(0, 2)), max_size=3)
    )
    for w in worlds:
        parts = batches(w.events(plan), data.draw(splits(len(plan.steps))))
        where = data.draw(
            st.lists(st.integers(0, len(parts)), min_size=len(actions), max_size=len(actions))
        )
        for index, part in enumerate([*parts, []]):
            for (action, target), slot in zip(actions, where, strict=True):
                if slot == index:
                    await _dispatch(w, action, target)
            if part:
                await w.device.push(part)
    first, second = [await w.projection() for w in worlds]
    assert [(s, a, d) for s, a, d, _ in first] == [(s, a, d) for s, a, d, _ in second]


async def _dispatch(w: World, action: str, target: int) -> None:
    shipment = w.shipments[target]
    if action == "cancel":
        response = await w.api.post(f"/v1/shipments/{shipment['id']}/cancel")
    else:
        response = await w.api.patch(f"/v1/shipments/{shipment['id']}", {"notes": "call first"})
    assert response.status_code in (200, 409), response.text  # 409: already closed by a scan


# P5 ------------------------------------------------------------------------------------------


@PROPERTY
@given(
    moves=st.lists(
        st.sampled_from(["reorder", "drop", "add", "notes", "cancel"]), min_size=3, max_size=10
    ),
    seed=st.integers(0, 10**6),
)
async def test_p5_incremental_pulls_under_concurrent_writers_equal_a_snapshot(
    api, moves, seed
) -> None:
    f = await fleet(api, per_route=0)
    w = await world(api, f.handhelds[0], f.drivers[0], f.hub, n=4)
    rnd = random.Random(seed)
    await w.device.pull()
    stop_ids = [s["id"] for s in w.shipments]

    async def writer() -> None:
        for move in moves:
            if move == "reorder":
                rnd.shuffle(stop_ids)
            elif move == "drop" and len(stop_ids) > 1:
                stop_ids.pop(rnd.randrange(len(stop_ids)))
            elif move == "add":
                stop_ids.append((await api.shipment(f.hub["id"]))["id"])
            elif move in ("notes", "cancel"):
                target = rnd.choice(stop_ids)
                path = f"/v1/shipments/{target}" + ("/cancel" if move == "cancel" else "")
                call = (
                    api.post(path)
                    if move == "cancel"
                    else api.patch(path, {"notes": f"n{rnd.random()}"})
                )
                assert (await call).status_code in (200, 409)
                continue
            body = {"stops": [{"shipment_id": sid} for sid in stop_ids]}
            assert (await api.put(f"/v1/routes/{w.route['id']}/stops", body)).status_code == 200

    async def puller() -> None:
        for _ in range(len(moves)):
            await w.device.pull(limit=rnd.randint(1, 5))
            await asyncio.sleep(0)

    await asyncio.gather(writer(), puller())
    await w.device.pull()
    assert w.device.local == await w.device.snapshot()


# P6 ------------------------------------------------------------------------------------------


@PROPERTY
@given(pull_between=st.booleans(), edits=st.integers(0, 2))
async def test_p6_reassign_away_and_back_leaves_the_copy_equal(api, pull_between, edits) -> None:
    f = await fleet(api, drivers=2, per_route=0)
    w = await world(api, f.handhelds[0], f.drivers[0], f.hub)
    await w.device.pull()
    route = w.route["id"]
    await api.post(f"/v1/routes/{route}/reassign", {"driver_id": f.drivers[1]["id"]})
    if pull_between:
        await w.device.pull()
        assert ("route", route) not in w.device.local
    for n in range(edits):
        await api.patch(f"/v1/shipments/{w.shipments[n]['id']}", {"notes": f"edit {n}"})
    await api.post(f"/v1/routes/{route}/reassign", {"driver_id": f.drivers[0]["id"]})
    await w.device.pull()
    assert ("route", route) in w.device.local
    assert w.device.local == await w.device.snapshot()


# P7 ------------------------------------------------------------------------------------------

POISON = [
    {"type": "delivered"},  # no ids at all
    "not an object",
    {"event_id": "nope", "seq": 1, "type": "note", "occurred_at": "yesterday"},
]


@PROPERTY
@given(
    plan=plans(),
    poison=st.lists(st.sampled_from(range(len(POISON))), min_size=1, max_size=3),
    data=st.data(),
)
async def test_p7_a_poison_event_never_blocks_later_ones(api, db, plan, poison, data) -> None:
    f = await fleet(api, per_route=0)
    w = await world(api, f.handhelds[0], f.drivers[0], f.hub)
    events = w.events(plan)
    unknown = w.device.event("scan_loaded", barcode=f"GHOST-{uuid.uuid4().hex}")  # takes a seq
    mixed = list(events)
    for n, kind in enumerate(poison):
        mixed.insert(
            data.draw(st.integers(0, len(mixed))),
            dict(POISON[kind]) if isinstance(POISON[kind], dict) else POISON[kind],
        )
        del n
    mixed.insert(data.draw(st.integers(0, len(mixed))), unknown)
    result = await w.device.push(mixed)
    by_id = {r["event_id"]: r for r in result["results"] if r.get("event_id")}
    assert all(by_id[e["event_id"]]["status"] == "accepted" for e in events)
    assert by_id[unknown["event_id"]]["reason"] == "unknown_barcode"
    assert sum(r["status"] == "rejected" for r in result["results"]) == len(poison) + 1
    assert result["ack_seq"] == len(events) + 1  # the unknown barcode is stored too (quarantine)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM quarantined_events WHERE device_id = $1", w.device.device_id
        )
        == len(poison) + 1
    )


# P8 ------------------------------------------------------------------------------------------


@PROPERTY
@given(
    plan=plans(),
    skew_hours=st.integers(-24 * 5, 24 * 5).filter(lambda h: abs(h) > 1),
    data=st.data(),
)
async def test_p8_days_of_clock_skew_still_order_correctly_with_anchors(
    api, plan, skew_hours, data
) -> None:
    f = await fleet(api, drivers=2, per_route=0)
    truth = await world(api, f.handhelds[0], f.drivers[0], f.hub)
    skewed = await world(api, f.handhelds[1], f.drivers[1], f.hub)
    skewed.start = truth.start
    await push_all(truth.device, [truth.events(plan)])
    parts = batches(
        skewed.events(plan, skew=timedelta(hours=skew_hours), anchored=True),
        data.draw(splits(len(plan.steps))),
    )
    await push_all(skewed.device, parts, list(data.draw(st.permutations(range(len(parts))))))
    assert await skewed.projection() == await truth.projection()
    events = (await api.get(f"/v1/shipments/{skewed.shipments[0]['id']}/events")).json()["items"]
    assert all(
        "clock_low_confidence" not in e["anomalies"] for e in events if e["source"] == "device"
    )


# P9 ------------------------------------------------------------------------------------------


async def test_p9_a_crash_mid_push_is_all_or_nothing(api, db, settings) -> None:
    f = await fleet(api, per_route=2)
    device, shipments = f.handhelds[0], f.shipments[0]
    events = [device.event("scan_loaded", shipment_id=s["id"]) for s in shipments]
    batch_id = str(uuid.uuid4())
    body = {"device_id": device.device_id, "batch_id": batch_id, "events": events}
    # The test client serves requests from a thread of its own and blocks this loop while it
    # waits; a push that must wait on our lock needs an app served on this loop instead.
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://lastmile") as direct,
        db.acquire() as blocker,
        blocker.transaction(),
    ):
        # Hold one shipment row: the push waits there, inside its transaction.
        await blocker.execute(
            "SELECT 1 FROM shipments WHERE id = $1 FOR UPDATE", uuid.UUID(shipments[1]["id"])
        )
        push = asyncio.create_task(
            direct.post("/v1/sync/push", json=body, headers=device.api.headers)
        )
        pid = None
        for _ in range(200):
            pid = await db.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND application_name = 'lastmile' AND datname = current_database()"
            )
            if pid:
                break
            await asyncio.sleep(0.02)
        assert pid, "the push never reached the locked row"
        inserted = await db.fetchval("SELECT count(*) FROM sync_events")
        assert inserted == 0  # nothing of the push is visible: not committed
        await db.execute("SELECT pg_terminate_backend($1)", pid)  # the crash
        # The connection died before COMMIT, so the server runs the push again on a fresh one
        # (docs/faults.md); that run waits on the held row until the blocker lets go below.
    answered = await push
    await app.state.engine.dispose()
    assert answered.status_code == 200, answered.text
    # Accepted, not duplicates: the crashed run left nothing behind.
    assert [r["status"] for r in answered.json()["results"]] == ["accepted", "accepted"]
    for table, count in (
        ("sync_events", 2),
        ("shipment_events WHERE source = 'device'", 2),
        ("push_batches", 1),
    ):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == count, table
    retried = await device.push(events, batch_id)
    assert [r["status"] for r in retried["results"]] == ["accepted", "accepted"]
