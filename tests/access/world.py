"""The objects the access matrix points at, and the callers who try them.

Driver A owns everything the path parameters name (a published route with an open shipment, a
delivered one with a shared photo, a spare one to cancel); driver B has a route of their own, so
B calling with A's ids is "another owner's id". Recipients hold tracking tokens: their own
shipment's, or another shipment's.
"""

from __future__ import annotations

import itertools
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.conftest import ADMIN_PASSWORD, TEST_URL
from tests.couriers.support import (
    active_courier,
    apply,
    checked,
    sign_in_courier,
    staff_post,
    submitted,
)
from tests.factories import CENTER, Api, shipment_body
from tests.incidents.support import open_incidents
from tests.offers.support import WINDOW
from tests.partners.support import key_for, partner
from tests.planning.support import make_day, plan_worker, solved
from tests.pod.support import blob_bytes, sha, upload
from tests.sync.factories import Handheld

USER_PASSWORD, DRIVER_PASSWORD = "user-password-1", "driver-password"
# A public address written as one: endpoints are checked against private ranges, and a name
# would need DNS. Nothing is sent to it (no webhook worker runs here).
HOOK_URL = "https://93.184.216.34/access-hook"
COURIER_DEVICE = "access-courier"
UNKNOWN_TOKEN = "not-a-tracking-token-0000000000"
_unique = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_unique)}"


@dataclass
class Caller:
    name: str
    headers: dict[str, str]
    # The tracking token this caller puts in `{token}`: of an open and of a delivered shipment.
    tokens: dict[str, str]
    device_id: str = "no-device"
    # World ids this caller puts in the path instead of the shared ones: an organisation key's
    # own objects (its organisation, shipment, endpoints), an applicant's own application. The
    # `other_*` callers share their owner's, so they call with another owner's ids.
    ids: dict[str, str] = field(default_factory=dict)
    password: str | None = None


@dataclass
class World:
    ids: dict[str, str]
    photo: bytes
    callers: dict[str, Caller] = field(default_factory=dict)
    # Refresh tokens of a spare account's sessions, one for each call of the refresh row.
    refresh_tokens: list[str] = field(default_factory=list)


async def build_world(api: Api) -> World:
    hub = await api.hub()
    drivers = [await api.driver(hub["id"]) for _ in range(3)]
    a, b, spare = drivers
    shipments = [await api.shipment(hub["id"]) for _ in range(2)]
    delivered = await api.shipment(hub["id"], requirements={"share_photo": True})
    b_shipment = await api.shipment(hub["id"])
    today = datetime.now(UTC).date().isoformat()
    route_a = await api.route(
        a["id"], hub["id"], [shipments[0]["id"], shipments[1]["id"], delivered["id"]], date=today
    )
    route_b = await api.route(b["id"], hub["id"], [b_shipment["id"]], date=today)
    await api.publish_route(route_a["id"])
    await api.publish_route(route_b["id"])

    handheld_a = Handheld(await api.as_driver(a, "access-a"), "access-a")
    handheld_b = Handheld(await api.as_driver(b, "access-b"), "access-b")
    photo = blob_bytes()
    assert (await upload(handheld_a.api, photo)).status_code == 201
    await _deliver(handheld_a, delivered["id"], sha(photo))

    dispatcher, partner = await api.user("dispatcher"), await api.user("partner")
    extra = await _partners_and_applicants(api, hub["id"])
    open_tokens = {"open": shipments[0]["tracking_token"], "delivered": delivered["tracking_token"]}
    other_tokens = dict.fromkeys(open_tokens, b_shipment["tracking_token"])

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    callers = [
        Caller("anonymous", {}, dict.fromkeys(open_tokens, UNKNOWN_TOKEN)),
        # A tracking token is no bearer token: presented as one, it is refused.
        Caller("recipient", bearer(open_tokens["open"]), open_tokens),
        Caller("other_recipient", bearer(other_tokens["open"]), other_tokens),
        Caller("admin", api.headers, open_tokens, password=ADMIN_PASSWORD),
        Caller(
            "dispatcher",
            dispatcher.headers,
            open_tokens,
            ids={"device_pk": extra.ids["dispatcher_device_pk"]},
            password=USER_PASSWORD,
        ),
        Caller("partner", partner.headers, open_tokens, password=USER_PASSWORD),
        Caller("driver", handheld_a.api.headers, open_tokens, "access-a", password=DRIVER_PASSWORD),
        Caller(
            "other_driver",
            handheld_b.api.headers,
            open_tokens,
            "access-b",
            password=DRIVER_PASSWORD,
        ),
    ]
    for name, (headers, own) in extra.callers.items():
        if name == "courier":
            device, password = COURIER_DEVICE, "courier-password"
            callers.append(Caller(name, headers, open_tokens, device, own, password))
        else:
            callers.append(Caller(name, headers, open_tokens, ids=own))
    ids = {
        "hub_id": hub["id"],
        "kpi": "on_time_rate",
        "driver_id": a["id"],
        "spare_driver_id": spare["id"],
        "shipment_id": shipments[0]["id"],
        "spare_shipment_id": shipments[1]["id"],
        "delivered_shipment_id": delivered["id"],
        "route_id": route_a["id"],
        "sha256": sha(photo),
    } | extra.ids
    ids |= await _incidents(api, shipments[0]["id"], a["id"])
    refresh = []
    for _ in callers:
        body = {"email": extra.spare_email, "password": USER_PASSWORD}
        response = await api.client.post("/v1/auth/token", json=body)
        assert response.status_code == 200, response.text
        refresh.append(response.json()["refresh_token"])
    return World(ids, photo, {caller.name: caller for caller in callers}, refresh)


async def _incidents(api: Api, shipment_id: str, driver_id: str) -> dict[str, str]:
    """An open incident for the triage rows, one to resolve, and one resolved to reopen."""
    fields = {"shipment_id": shipment_id, "driver_id": driver_id}
    names = ("incident_id", "resolve_incident_id", "reopen_incident_id")
    ids = dict(zip(names, await open_incidents(api, *[fields] * len(names)), strict=True))
    resolved = await api.post(
        f"/v1/incidents/{ids['reopen_incident_id']}/resolve", {"resolution_code": "fixed"}
    )
    assert resolved.status_code == 200, resolved.text
    return ids | {"step": "1"}


async def _deliver(handheld: Handheld, shipment_id: str, photo_sha: str) -> None:
    location = {"lon": CENTER[0], "lat": CENTER[1], "accuracy_m": 5.0}
    result = await handheld.push(
        [
            handheld.event("scan_loaded", 1, shipment_id=shipment_id),
            handheld.event(
                "delivered",
                10,
                shipment_id=shipment_id,
                location=location,
                data={"handoff": "recipient", "photo_sha256s": [photo_sha]},
            ),
        ]
    )
    assert all(r["status"] == "accepted" for r in result["results"]), result


@dataclass
class Extra:
    ids: dict[str, str]
    callers: dict[str, tuple[dict[str, str], dict[str, str]]]
    spare_email: str


async def _endpoint(client: Api, **extra: str) -> str:
    body = {"url": HOOK_URL, "event_types": ["shipment.created", "shipment.handed_over"]}
    return (await client.created("/v1/webhook-endpoints", body | extra))["id"]


async def _delivery(client: Api, endpoint_id: str) -> str:
    """A delivery to the endpoint that stays (the spare one is deleted by its row)."""
    response = await client.get("/v1/webhook-deliveries", params={"endpoint_id": endpoint_id})
    assert response.status_code == 200, response.text
    return response.json()["items"][0]["id"]


async def _partners_and_applicants(api: Api, hub_id: str) -> Extra:
    """Two shippers and two carriers (organisation keys), two courier applicants. Each owner
    has its own organisation, endpoints (one spare, to delete) and a delivery; the shipper a
    shipment of its own, the carrier one handed over to it; the applicant a document."""
    shipper_org, shipper = await partner(api, "shipper")
    _, other_shipper = await partner(api, "shipper")
    carrier_org, carrier = await partner(api, "regional_courier")
    _, other_carrier = await partner(api, "regional_courier")
    admin_endpoint = await _endpoint(api)
    own: dict[str, dict[str, str]] = {}
    for name, org, client in (("shipper", shipper_org, shipper), ("carrier", carrier_org, carrier)):
        own[name] = {
            "organization_id": org["id"],
            "endpoint_id": await _endpoint(client),
            "spare_endpoint_id": await _endpoint(client),
        }
    shipment = await shipper.created("/v1/shipments", shipment_body(hub_id))
    handed_id = (await api.shipment(hub_id))["id"]
    handover = {"organization_id": carrier_org["id"]}
    response = await api.post(f"/v1/shipments/{handed_id}/handover", handover)
    assert response.status_code == 200, response.text
    for name, client in (("shipper", shipper), ("carrier", carrier)):
        own[name] |= {"shipment_id": shipment["id"] if name == "shipper" else handed_id}
        own[name] |= {"delivery_id": await _delivery(client, own[name]["endpoint_id"])}
    keys = [await key_for(api, shipper_org["id"]) for _ in range(2)]

    applicant, other_applicant = await apply(api.client), await apply(api.client)
    # Every document a bike needs, so that the applicant's own submit goes through.
    document = await applicant.document("id_card")
    await applicant.document("right_to_work")
    own["applicant"] = {"application_id": applicant.id, "document_id": document["id"]}
    spare_email = unique("spare") + "@access.test"
    spare_user = await api.created(
        "/v1/users",
        {
            "email": spare_email,
            "password": USER_PASSWORD,
            "role": "dispatcher",
        },
    )
    data = blob_bytes("application/pdf")
    assert (await upload(applicant, data, "application/pdf")).status_code == 201
    async with _db() as db:
        states, courier = await _applications(api, db, hub_id)

    spare_driver = await api.driver(hub_id)
    await api.as_driver(spare_driver, "access-spare")
    # Each allowed caller releases a device of its own: a released device is gone (404).
    await api.as_driver(spare_driver, "access-spare-2")
    devices = await api.get("/v1/devices", params={"driver_id": spare_driver["id"]})
    assert devices.status_code == 200, devices.text
    device_pks = [str(item["id"]) for item in devices.json()["items"]]
    assert len(device_pks) == 2, device_pks
    spare_route = await api.route(
        spare_driver["id"], hub_id, [(await api.shipment(hub_id))["id"]], date=today()
    )
    plan_id = await _solved_plan(api)
    disruption = await api.post(
        "/v1/disruptions", {"kind": "volume_spike", "mode": "drill", "hub_id": hub_id, "extra": 1}
    )
    assert disruption.status_code == 202, disruption.text
    ids = {
        "document_sha256": sha(data),
        "device_pk": device_pks[0],
        "dispatcher_device_pk": device_pks[1],
        "spare_route_id": spare_route["id"],
        "handover_shipment_id": (await api.shipment(hub_id))["id"],
        "plan_id": plan_id,
        "disruption_id": disruption.json()["id"],
        "check_id": str(uuid.uuid4()),
        "console_asset": "js/main.js",  # a file of the console's (GET /console/static/{path})
        "organization_id": shipper_org["id"],
        "carrier_org_id": carrier_org["id"],
        "key_id": keys[0]["id"],
        "spare_key_id": keys[1]["id"],
        "endpoint_id": own["shipper"]["endpoint_id"],
        "spare_endpoint_id": admin_endpoint,
        "delivery_id": own["shipper"]["delivery_id"],
        "application_id": applicant.id,
        "document_id": document["id"],
        "shipper_shipment_id": shipment["id"],
        "user_id": spare_user["id"],
    } | states
    callers = {
        "shipper": (shipper.headers, own["shipper"]),
        "other_shipper": (other_shipper.headers, own["shipper"]),
        "carrier": (carrier.headers, own["carrier"]),
        "other_carrier": (other_carrier.headers, own["carrier"]),
        "applicant": (applicant.headers, own["applicant"]),
        "other_applicant": (other_applicant.headers, own["applicant"]),
    }
    callers["courier"] = (courier.headers, {})
    return Extra(ids, callers, spare_email)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@asynccontextmanager
async def _db():
    pool = await asyncpg.create_pool(TEST_URL, min_size=1, max_size=1)
    try:
        yield pool
    finally:
        await pool.close()


async def _applications(api: Api, db: asyncpg.Pool, hub_id: str) -> tuple[dict[str, str], Api]:
    """Applications in the state each staff action needs (applicant tokens are refused these
    by role, whichever application the path names), and an active courier with an offer."""
    ids: dict[str, str] = {}
    for key in ("review_application_id", "reject_application_id", "checks_application_id"):
        ids[key] = (await submitted(api.client, db)).id
    for key in ("reject_application_id", "checks_application_id"):
        await staff_post(api, f"/v1/courier-applications/{ids[key]}/start-review")
    approvable = await submitted(api.client, db)
    await checked(api, approvable)
    ids["approve_application_id"] = approvable.id
    for key in ("suspend_application_id", "offboard_application_id", "reactivate_application_id"):
        ids[key] = (await active_courier(api, db, hub_id))[0].id
    await staff_post(
        api,
        f"/v1/courier-applications/{ids['reactivate_application_id']}/suspend",
        {"reason": "complaint"},
    )
    applicant, read = await active_courier(api, db, hub_id)
    courier = await sign_in_courier(api, applicant, COURIER_DEVICE)
    online = await courier.post(
        "/v1/couriers/me/online", {"position": {"type": "Point", "coordinates": list(CENTER)}}
    )
    assert online.status_code == 200, online.text
    ids["courier_id"] = read["driver_id"]
    for n in range(3):
        ids[f"offer_shipment_{n}"] = (await api.shipment(hub_id, window=WINDOW))["id"]
    for key in ("offer_id", "accept_offer_id", "decline_offer_id"):
        body = {
            "shipment_ids": [(await api.shipment(hub_id, window=WINDOW))["id"]],
            "courier_ids": [read["driver_id"]],
            "pay": {"amount": 42.5, "currency": "EUR"},
            "expires_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
        }
        ids[key] = (await staff_post(api, "/v1/offers", body, status=201))["id"]
    return ids, courier


async def _solved_plan(api: Api) -> str:
    """A plan of a small day of its own, solved here: only a done plan applies."""
    day = await make_day(api, drivers=1, shipments=2)
    body = {
        "hub_id": day.hub["id"],
        "date": today(),
        "shipment_ids": day.shipments,
        "time_limit_s": 1,
    }
    created = await api.post("/v1/plans", body)
    assert created.status_code == 202, created.text
    plan_id = created.json()["id"]
    async for worker in plan_worker(api.client.app):
        plan = await solved(api, worker, plan_id)
        assert plan["status"] == "done", plan
    return plan_id
