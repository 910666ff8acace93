"""One courier's whole way, through a real API process over HTTP: apply, verify the email, give
documents, submit, review, background check (the local provider answering its signed callback),
approval, online, an offer on the live feed and in pull, accept, the route in pull, a delivery
pushed."""

from datetime import UTC, datetime, timedelta

import httpx
from websockets.asyncio.client import connect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.couriers.conftest import drain, point_checks_at
from tests.couriers.support import Applicant, application_body
from tests.factories import CENTER, Api, point
from tests.live.servers import api_worker, ws_message, ws_url
from tests.offers.support import WINDOW
from tests.pod.support import east_of
from tests.sync.factories import Handheld


async def test_a_courier_from_application_to_delivery(app, db, outbox) -> None:
    """`app` empties the tables first; the API process under test is another one."""
    with api_worker() as server:
        point_checks_at(outbox, server.base_url)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            await _the_whole_way(http, server, db, outbox)


async def _the_whole_way(http: httpx.AsyncClient, server, db, outbox) -> None:
    admin = await Api.sign_in(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    hub = await admin.hub()
    zone = await admin.zone(hub["id"])
    dispatcher = await admin.user("dispatcher")

    # apply (no sign-in) and verify the email with the code that was sent
    body = application_body(
        vehicle={"kind": "scooter", "capacity_parcels": 30, "capacity_kg": 40},
        preferred_zone_ids=[zone["id"]],
    )
    created = await http.post("/v1/courier-applications", json=body)
    assert created.status_code == 201, created.text
    applicant = Applicant(http, created.json()["applicant_token"], created.json()["id"], body)
    await drain(outbox)  # the code leaves through the notification provider
    await applicant.verify(db)

    # documents, as the requirements for a scooter say
    required = await http.get(
        "/v1/courier-applications/requirements", params={"vehicle_kind": "scooter"}
    )
    for kind in required.json()["required_documents"]:
        await applicant.document(kind)
    assert (await applicant.submit())["status"] == "submitted"

    # review and background check, answered over HTTP with a signed callback
    await _staff(dispatcher, f"{applicant.path}/start-review")
    await _staff(dispatcher, f"{applicant.path}/checks")
    await drain(outbox)
    read = (await dispatcher.get(applicant.path)).json()
    assert read["checks"][-1]["status"] == "clear"
    approved = await _staff(dispatcher, f"{applicant.path}/approve", {})
    assert approved["status"] == "active"
    assert [t["to_status"] for t in approved["transitions"]] == [
        "submitted",
        "under_review",
        "checks_pending",
        "approved",
        "active",
    ]
    assert (await applicant.get(applicant.path)).json()["status"] == "active"

    # the courier signs in with the password they applied with and goes online
    courier = await Api.sign_in(http, body["email"], body["password"], "courier-phone")
    online = await courier.post(
        "/v1/couriers/me/online", {"position": point(*east_of(*CENTER, 800))}
    )
    assert online.json()["online"] is True
    phone = Handheld(courier, "courier-phone")
    await phone.pull()

    # dispatch offers two shipments near the hub; the courier hears of it live and in pull
    shipment_ids = [(await dispatcher.shipment(hub["id"], window=WINDOW))["id"] for _ in range(2)]
    token = courier.headers["Authorization"].split()[1]
    async with connect(ws_url(server, token, types="offer")) as feed:
        expires = datetime.now(UTC) + timedelta(minutes=20)
        offered = await dispatcher.post(
            "/v1/offers",
            {
                "shipment_ids": shipment_ids,
                "pay": {"amount": 18, "currency": "EUR"},
                "expires_at": expires.isoformat(),
                "radius_m": 2_000,
            },
        )
        assert offered.status_code == 201, offered.text
        offer = offered.json()
        assert offer["offered"] == [approved["driver_id"]]
        heard = await ws_message(feed)
    assert (heard["type"], heard["data"]["offer_id"]) == ("offer", offer["id"])
    page = await phone.pull()
    assert [(c["entity"], c["id"]) for c in page["changes"]] == [("offer", offer["id"])]
    mine = (await courier.get("/v1/offers/mine")).json()["items"]
    assert [o["id"] for o in mine] == [offer["id"]]

    # accept: the route comes with the next pull, and the courier delivers
    accepted = await courier.post(f"/v1/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    await phone.pull()
    assert ("route", accepted.json()["route_id"]) in phone.local
    assert ("offer", offer["id"]) not in phone.local
    assert {i for kind, i in phone.local if kind == "shipment"} == set(shipment_ids)
    result = await phone.push(
        [
            phone.event("scan_loaded", 1, shipment_id=shipment_ids[0]),
            phone.event("delivered", 2, shipment_id=shipment_ids[0], data={"handoff": "recipient"}),
        ]
    )
    assert [r["status"] for r in result["results"]] == ["accepted", "accepted"]
    shipment = (await dispatcher.get(f"/v1/shipments/{shipment_ids[0]}")).json()
    assert shipment["status"] == "delivered"


async def _staff(api: Api, path: str, body=None) -> dict:
    response = await api.post(path, body)
    assert response.status_code == 200, response.text
    return response.json()
