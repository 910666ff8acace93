"""WebSocket and SSE delivery through real API worker processes, across processes."""

import asyncio
import signal

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend.auth.tokens import read_token
from backend.db.session import unit_of_work
from backend.live.messages import LiveMessage, announce
from tests.conftest import make_settings
from tests.live.servers import SseReader, api_worker, ws_message, ws_url
from tests.live.support import delivery_round


def token_of(api) -> str:
    return api.headers["Authorization"].split()[1]


async def test_an_event_committed_through_one_worker_reaches_the_other(api) -> None:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    with api_worker() as first, api_worker() as second:
        stream_url = f"{second.base_url}/v1/track/{shipment['tracking_token']}/stream"
        async with (
            connect(ws_url(second, token_of(api))) as feed,
            httpx.AsyncClient(timeout=30) as http,
            http.stream("GET", stream_url) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            sse = SseReader(response)
            await sse.opened()
            cancelled = await http.post(
                f"{first.base_url}/v1/shipments/{shipment['id']}/cancel",
                headers=api.headers,
                json={"reason": "recipient moved"},
            )
            assert cancelled.status_code == 200, cancelled.text
            message = await ws_message(feed)
            event = await sse.next_event()
    assert message["type"] == "shipment.status"
    assert message["shipment_id"] == shipment["id"]
    assert message["data"]["status"] == "cancelled"
    assert (event["id"], event["event"]) == ("1", "shipment.status")
    assert '"status":"cancelled"' in event["data"]


async def test_sse_resumes_after_last_event_id_then_continues_live(api) -> None:
    round_ = await delivery_round(api)
    token = round_.shipments[0]["tracking_token"]
    await round_.load()  # seq 1: out_for_delivery
    await round_.fail()  # seq 2: attempt_failed
    with api_worker() as worker:
        url = f"{worker.base_url}/v1/track/{token}/stream"
        async with httpx.AsyncClient(timeout=30) as http:
            async with http.stream("GET", url, headers={"Last-Event-ID": "1"}) as response:
                sse = SseReader(response)
                replayed = await sse.next_event()
                await round_.load()  # seq 3, live
                live = await sse.next_event()
            async with http.stream("GET", url) as fresh:
                reader = SseReader(fresh)
                everything = [await reader.next_event() for _ in range(3)]
    assert (replayed["id"], '"status":"attempt_failed"' in replayed["data"]) == ("2", True)
    assert (live["id"], '"status":"out_for_delivery"' in live["data"]) == ("3", True)
    assert [e["id"] for e in everything] == ["1", "2", "3"]


async def test_partners_receive_only_their_own_shipments(api, pg_live) -> None:
    partner = await api.user("partner")
    partner_id = read_token(token_of(partner), make_settings().secret_key).user_id
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    with api_worker() as worker:
        async with (
            connect(ws_url(worker, token_of(api))) as staff_feed,
            connect(ws_url(worker, token_of(partner))) as partner_feed,
        ):
            cancelled = await api.post(f"/v1/shipments/{shipment['id']}/cancel")
            assert cancelled.status_code == 200
            staff_first = await ws_message(staff_feed)
            # Shipments cannot be handed to partners yet; a message tagged for one stands in.
            async with unit_of_work(pg_live.sessionmaker) as session:
                announce(session, [LiveMessage(type="incident", partner_id=partner_id)])
            staff_second = await ws_message(staff_feed)
            partner_first = await ws_message(partner_feed)
    assert staff_first["shipment_id"] == shipment["id"]
    assert staff_second["type"] == partner_first["type"] == "incident"
    assert partner_first["partner_id"] == str(partner_id)


async def test_the_feed_needs_staff_or_partner_and_the_stream_a_real_token(api) -> None:
    hub = await api.hub()
    driver = await api.as_driver(await api.driver(hub["id"]))
    with api_worker() as worker:
        refused = [
            ws_url(worker, token_of(driver)),
            ws_url(worker, "not-a-token"),
            ws_url(worker, token_of(api), types="gossip"),
        ]
        for url in refused:
            with pytest.raises(InvalidStatus):
                async with connect(url) as feed:
                    await ws_message(feed, within=5)
        async with httpx.AsyncClient(base_url=worker.base_url, timeout=30) as http:
            unknown = await http.get("/v1/track/no-such-token/stream")
            shipment = await api.shipment(hub["id"])
            bad_resume = await http.get(
                f"/v1/track/{shipment['tracking_token']}/stream",
                headers={"Last-Event-ID": "yesterday"},
            )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert bad_resume.status_code == 422
    assert bad_resume.json()["errors"][0]["field"] == "Last-Event-ID"


async def test_redis_backend_carries_events_between_workers(api, redis_url: str) -> None:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    with api_worker("redis", redis_url) as first, api_worker("redis", redis_url) as second:
        async with (
            connect(ws_url(second, token_of(api))) as feed,
            httpx.AsyncClient(timeout=30) as http,
        ):
            cancelled = await http.post(
                f"{first.base_url}/v1/shipments/{shipment['id']}/cancel", headers=api.headers
            )
            assert cancelled.status_code == 200, cancelled.text
            message = await ws_message(feed)
    assert (message["shipment_id"], message["data"]["status"]) == (shipment["id"], "cancelled")


async def test_a_stopping_worker_ends_its_streams_instead_of_waiting_for_them(api) -> None:
    hub = await api.hub()
    shipment = await api.shipment(hub["id"])
    with api_worker() as worker:
        url = f"{worker.base_url}/v1/track/{shipment['tracking_token']}/stream"
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream("GET", url) as response,
            connect(ws_url(worker, token_of(api))) as feed,
        ):
            sse = SseReader(response)
            await sse.opened()
            worker.process.send_signal(signal.SIGTERM)
            # Both end at once (the client resumes elsewhere); the bound only catches a hang.
            with pytest.raises(EOFError):
                await sse.next_event(within=20)
            with pytest.raises(ConnectionClosed) as closed:
                await ws_message(feed, within=20)
        exit_code = await asyncio.to_thread(worker.process.wait, 20)
    assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
