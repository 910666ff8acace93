"""The recipient's tracking view: plain words, ETA, stops before, the driver only when close."""

from datetime import UTC, datetime
from uuid import UUID

from backend.pod.pins import pin_for
from tests.factories import Api
from tests.recipients.support import scene, track
from tests.tracking.support import ping, send


async def test_unknown_tokens_are_404_and_no_sign_in_is_needed(api: Api) -> None:
    response = await api.client.get("/v1/track/not-a-real-token")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert (await api.client.get("/v1/track/" + "x" * 65)).status_code == 404
    s = await scene(api, stops=1)
    assert (await api.client.get(f"/v1/track/{s.token(0)}")).status_code == 200


async def test_a_new_shipment_reads_in_plain_words(api: Api) -> None:
    s = await scene(api, stops=1)
    view = await track(api, s.token(0))
    assert view["tracking_number"] == s.shipments[0]["tracking_number"]
    assert view["status"] == "created"
    assert "waiting to receive" in view["status_text"]
    assert [h["text"] for h in view["history"]] == [
        "We received the parcel's details from the sender."
    ]
    assert view["destination"] == "10115 Berlin"
    assert view["driver_position"] is None and view["pod"] is None and view["pin"] is None
    assert {o["type"]: o["available"] for o in view["options"]} == {
        "reschedule": True,
        "safe_drop": True,
        "pickup_point": False,  # no pickup point near
    }


async def test_out_for_delivery_shows_eta_stops_before_and_the_driver_only_when_close(
    api: Api, jobs
) -> None:
    s = await scene(api, stops=8)
    await s.load_and_start()
    await send(s.handheld.api, [ping(5, 13.39, 52.50)])
    await jobs.refresh_etas()

    far = await track(api, s.token(7))
    assert far["status"] == "out_for_delivery"
    assert far["stops_before"] == 7
    assert far["eta"] is not None
    assert far["driver_position"] is None  # 7 stops away: too far to show
    assert "out for delivery" in far["history"][-1]["text"]

    near = await track(api, s.token(2))
    assert near["stops_before"] == 2
    assert near["driver_position"]["location"]["coordinates"] == [13.39, 52.50]
    assert datetime.fromisoformat(near["eta"]) < datetime.fromisoformat(far["eta"])

    await s.deliver(0)
    await s.deliver(1)
    closer = await track(api, s.token(5))
    assert closer["stops_before"] == 3
    assert closer["driver_position"] is not None


async def test_delivered_shows_the_proof_and_no_more_options(api: Api) -> None:
    s = await scene(api, stops=1)
    await s.load_and_start()
    await s.deliver(0)
    view = await track(api, s.token(0))
    assert view["status"] == "delivered"
    assert view["status_text"] == "Your parcel has been delivered."
    assert view["history"][-1]["text"] == "Delivered: handed to you."
    assert view["pod"]["handoff"] == "recipient"
    assert "handed to you" in view["pod"]["text"]
    assert view["eta"] is None and view["stops_before"] is None
    assert not any(o["available"] for o in view["options"])


async def test_the_pin_is_shown_while_one_is_required(api: Api, settings) -> None:
    s = await scene(api, stops=1, requirements={"pin": True})
    view = await track(api, s.token(0))
    assert view["pin"] == pin_for(UUID(s.shipments[0]["id"]), settings.secret_key)
    assert len(view["pin"]) == 6
    safe_drop = next(o for o in view["options"] if o["type"] == "safe_drop")
    assert safe_drop["available"] is False
    assert "PIN" in safe_drop["reason"]


async def test_the_window_is_shown(api: Api) -> None:
    window = {"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T12:00:00Z"}
    s = await scene(api, stops=1, window=window)
    view = await track(api, s.token(0))
    assert datetime.fromisoformat(view["window"]["start"]) == datetime(2026, 12, 1, 9, tzinfo=UTC)
