"""The objects the access matrix points at, and the callers who try them.

Driver A owns everything the path parameters name (a published route with an open shipment, a
delivered one with a shared photo, a spare one to cancel); driver B has a route of their own, so
B calling with A's ids is "another owner's id". Recipients hold tracking tokens: their own
shipment's, or another shipment's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.factories import CENTER, Api
from tests.pod.support import blob_bytes, sha, upload
from tests.sync.factories import Handheld

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


@dataclass
class World:
    ids: dict[str, str]
    photo: bytes
    callers: dict[str, Caller] = field(default_factory=dict)


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
    open_tokens = {"open": shipments[0]["tracking_token"], "delivered": delivered["tracking_token"]}
    other_tokens = dict.fromkeys(open_tokens, b_shipment["tracking_token"])

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    callers = [
        Caller("anonymous", {}, dict.fromkeys(open_tokens, UNKNOWN_TOKEN)),
        # A tracking token is no bearer token: presented as one, it is refused.
        Caller("recipient", bearer(open_tokens["open"]), open_tokens),
        Caller("other_recipient", bearer(other_tokens["open"]), other_tokens),
        Caller("admin", api.headers, open_tokens),
        Caller("dispatcher", dispatcher.headers, open_tokens),
        Caller("partner", partner.headers, open_tokens),
        Caller("driver", handheld_a.api.headers, open_tokens, "access-a"),
        Caller("other_driver", handheld_b.api.headers, open_tokens, "access-b"),
    ]
    ids = {
        "hub_id": hub["id"],
        "driver_id": a["id"],
        "spare_driver_id": spare["id"],
        "shipment_id": shipments[0]["id"],
        "spare_shipment_id": shipments[1]["id"],
        "delivered_shipment_id": delivered["id"],
        "route_id": route_a["id"],
        "sha256": sha(photo),
    }
    return World(ids, photo, {caller.name: caller for caller in callers})


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
