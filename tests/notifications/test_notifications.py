"""Notifications: requested in the transaction of the change, sent once per kind and attempt."""

from typing import Any
from uuid import UUID

import pytest

from backend.db.session import make_engine, make_sessionmaker, unit_of_work
from backend.live.hub import LiveRuntime
from backend.notifications.providers import (
    NOTIFIER_KEY,
    Notifier,
    OutgoingMessage,
    RecordingProvider,
    load_provider,
)
from backend.outbox.handlers import HANDLERS
from backend.outbox.service import OutboxService
from backend.outbox.worker import OutboxWorker
from tests.conftest import make_settings
from tests.live.support import delivery_round, next_message


class FlakyGateway:
    """An SMS gateway that is down for its first `failures` calls."""

    name = "flaky-sms"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> str | None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway down")
        self.sent.append(message)
        return f"gw-{len(self.sent)}"


@pytest.fixture
async def worker(app):
    """The outbox worker with a recording provider and a live runtime of this event loop."""
    settings = make_settings(channels_backend="memory")
    live = LiveRuntime(settings)
    engine = make_engine(settings)
    notifier = Notifier(RecordingProvider(), "https://track.example")
    sessionmaker = make_sessionmaker(engine, info=live.session_info | {NOTIFIER_KEY: notifier})
    async with live.running():
        yield OutboxWorker(sessionmaker, HANDLERS), live, sessionmaker
    await engine.dispose()


async def drain(worker: OutboxWorker) -> None:
    while await worker.run_once():
        pass


async def listed(api, shipment_id: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/notifications", params={"shipment_id": shipment_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_status_changes_send_on_the_way_delivered_and_failed_once_per_attempt(
    api, worker, db
) -> None:
    outbox, _, _ = worker
    round_ = await delivery_round(api, count=2)
    first, second = (s["id"] for s in round_.shipments)
    steps = [
        round_.load(0),
        round_.deliver(0),
        round_.load(1),
        round_.fail(1),
        round_.scan("returned_to_hub", 1),
        round_.load(1),  # second attempt: on its way again
        round_.scan("returned_to_hub", 1),
        round_.load(1),  # still the second attempt: no second "on the way"
    ]
    for step in steps:
        await step
        pending = await db.fetchval("SELECT count(*) FROM outbox WHERE processed_at IS NULL")
        await drain(outbox)  # a worker that keeps up
    # Requests are written with the changes; the unique key drops the repeated one.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'notification.send'") == 6
    assert pending == 1
    delivered = await listed(api, first)
    failed = await listed(api, second)
    assert [(n["kind"], n["attempt"]) for n in delivered] == [("on_the_way", 1), ("delivered", 1)]
    assert [(n["kind"], n["attempt"]) for n in failed] == [
        ("on_the_way", 1),
        ("failed", 1),
        ("on_the_way", 2),
    ]
    failure = failed[1]
    token = round_.shipments[1]["tracking_token"]
    assert f"https://track.example/t/{token}" in failure["body"]
    assert (failure["channel"], failure["recipient"]) == ("sms", "+49 30 1234567")
    assert (failure["status"], failure["provider"]) == ("sent", "record")
    assert failure["provider_ref"].startswith("record-")


async def test_the_unique_key_holds_when_the_same_request_runs_twice(api, worker, db) -> None:
    outbox, _, sessionmaker = worker
    round_ = await delivery_round(api)
    await round_.load()
    payload = {"shipment_id": round_.shipments[0]["id"], "kind": "on_the_way", "attempt": 1}
    async with unit_of_work(sessionmaker) as session:
        await OutboxService(session).announce("notification.send", [payload, payload])
    await drain(outbox)
    assert len(await listed(api, round_.shipments[0]["id"])) == 1
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE processed_at IS NULL") == 0


async def test_a_message_overtaken_by_events_is_not_sent(api, worker) -> None:
    outbox, _, _ = worker
    round_ = await delivery_round(api)
    await round_.load()
    await round_.deliver()  # the worker only gets to "on the way" after the delivery
    await drain(outbox)
    kinds = [n["kind"] for n in await listed(api, round_.shipments[0]["id"])]
    assert kinds == ["delivered"]


async def test_eta_change_sends_one_window_message_and_reaches_the_live_feed(api, worker) -> None:
    outbox, live, sessionmaker = worker
    round_ = await delivery_round(api)
    shipment_id = round_.shipments[0]["id"]
    await round_.load()
    await drain(outbox)
    with live.hub.shipment(UUID(shipment_id)) as stream:
        async with unit_of_work(sessionmaker) as session:
            await OutboxService(session).announce(
                "shipment.eta_changed",
                [
                    {"shipment_id": shipment_id, "eta": eta, "previous_eta": previous}
                    for eta, previous in (
                        ("2026-12-01T14:30:00Z", None),  # as tracking writes them
                        ("2026-12-01T15:10:00Z", "2026-12-01T14:30:00Z"),
                    )
                ],
            )
        await drain(outbox)
        first = await next_message(stream)
        second = await next_message(stream)
    assert (first.type, first.seq, first.data["eta"]) == (
        "shipment.eta",
        2,
        "2026-12-01T14:30:00Z",
    )
    assert (second.seq, second.data["previous_eta"]) == (3, "2026-12-01T14:30:00Z")
    windows = [n for n in await listed(api, shipment_id) if n["kind"] == "eta_window"]
    assert len(windows) == 1
    assert "between 14:15 and 14:45 UTC" in windows[0]["body"]


async def test_an_accepted_instruction_sends_rerouted(api, worker) -> None:
    outbox, _, sessionmaker = worker
    round_ = await delivery_round(api)
    shipment_id = round_.shipments[0]["id"]
    async with unit_of_work(sessionmaker) as session:
        await OutboxService(session).announce(
            "shipment.instruction_accepted", [{"shipment_id": shipment_id, "type": "pickup_point"}]
        )
    await drain(outbox)
    [rerouted] = await listed(api, shipment_id)
    assert rerouted["kind"] == "rerouted"
    assert "redirected to a pickup point" in rerouted["body"]


async def test_a_failing_provider_is_retried_and_sends_once(api, app, db) -> None:
    gateway = FlakyGateway(failures=1)
    settings = make_settings()
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine, info={NOTIFIER_KEY: Notifier(gateway)})
    try:
        round_ = await delivery_round(api)
        await round_.load()
        outbox = OutboxWorker(sessionmaker, HANDLERS)
        await outbox.run_once()
        assert await listed(api, round_.shipments[0]["id"]) == []
        await db.execute("UPDATE outbox SET available_at = now() WHERE processed_at IS NULL")
        await drain(outbox)
    finally:
        await engine.dispose()
    [sent] = await listed(api, round_.shipments[0]["id"])
    assert (sent["provider"], sent["provider_ref"]) == ("flaky-sms", "gw-1")
    assert [m.idempotency_key for m in gateway.sent] == [
        f"{round_.shipments[0]['id']}:on_the_way:1"
    ]


async def test_a_recipient_without_contact_is_recorded_undeliverable(api, worker) -> None:
    outbox, _, _ = worker
    round_ = await delivery_round(api, recipient={"name": "No Contact"})
    await round_.load()
    await drain(outbox)
    [message] = await listed(api, round_.shipments[0]["id"])
    assert (message["channel"], message["status"]) == ("none", "undeliverable")


async def test_email_is_used_without_a_phone(api, worker) -> None:
    outbox, _, _ = worker
    round_ = await delivery_round(api, recipient={"name": "Mail Only", "email": "m@example.org"})
    await round_.load()
    await drain(outbox)
    [message] = await listed(api, round_.shipments[0]["id"])
    assert (message["channel"], message["recipient"]) == ("email", "m@example.org")


async def test_only_staff_list_notifications(api) -> None:
    partner = await api.user("partner")
    hub = await api.hub()
    driver = await api.as_driver(await api.driver(hub["id"]))
    for caller in (partner, driver):
        response = await caller.get("/v1/notifications")
        assert response.status_code == 403
    dispatcher = await api.user("dispatcher")
    assert (await dispatcher.get("/v1/notifications")).json() == {
        "items": [],
        "next_cursor": None,
    }
    bad = await api.get("/v1/notifications", params={"shipment_id": "nope"})
    assert bad.status_code == 422


def test_providers_load_by_name_or_path() -> None:
    assert isinstance(load_provider("record"), RecordingProvider)
    custom = load_provider("tests.notifications.test_notifications:_gateway")
    assert custom.name == "flaky-sms"
    with pytest.raises(ValueError, match="module:factory"):
        load_provider("carrier-pigeon")


def _gateway() -> FlakyGateway:
    return FlakyGateway(failures=0)
