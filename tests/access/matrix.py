"""The role-by-endpoint access matrix: one row per operation, what each caller must get.

A row names the operation as `METHOD /path` (exactly as the OpenAPI spells it; `WS` for a
WebSocket) and an access profile: the outcome for every caller of `CALLERS`. Add a caller
(a partner API key, a courier applicant) by adding it to `CALLERS`, to the world
(tests/access/world.py) and to the profiles. Add an operation by adding its row; when a path
parameter should name another object than the default one, say which with `at=`; when a
body is needed for the allowed callers to succeed, give `body=`.

Outcomes: OK is a 2xx or 3xx (on a `once=True` row, where the first allowed caller already
did it, also a 409); UNAUTH is 401, FORBIDDEN 403 (the role may not do this at all), HIDDEN 404
(the object is someone else's, or the token unknown: never a hint that it exists). Callers are
tried refusals first, so a refused call that changed anything shows in the allowed ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.access.world import Caller, World, unique
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.factories import point, shipment_body, square

OK, UNAUTH, FORBIDDEN, HIDDEN = "ok", "401", "403", "404"

CALLERS = (
    "anonymous",
    "recipient",
    "other_recipient",
    "admin",
    "dispatcher",
    "partner",
    "driver",
    "other_driver",
)
SIGNED_OUT = {"anonymous": UNAUTH, "recipient": UNAUTH, "other_recipient": UNAUTH}
NOBODY = SIGNED_OUT | dict.fromkeys(
    ("admin", "dispatcher", "partner", "driver", "other_driver"), FORBIDDEN
)

PUBLIC = dict.fromkeys(CALLERS, OK)
# Keyed by the tracking token in the path: an unknown token is a plain 404.
BY_TOKEN = PUBLIC | {"anonymous": HIDDEN}
# ... and naming a second object (a photo) that must belong to that token's shipment.
BY_TOKEN_OWN = BY_TOKEN | {"other_recipient": HIDDEN}
ADMIN = NOBODY | {"admin": OK}
STAFF = ADMIN | {"dispatcher": OK}
STAFF_AND_PARTNERS = STAFF | {"partner": OK}
# Staff see any; a driver only what is assigned to them (another driver's: 404).
STAFF_AND_OWN_DRIVER = STAFF | {"driver": OK, "other_driver": HIDDEN}
# Staff see all; each driver a list of their own (filtered, so never a 404).
STAFF_AND_DRIVERS = STAFF | {"driver": OK, "other_driver": OK}
# No role guard: staff only, everyone else the 404 of an object that does not exist.
STAFF_ELSE_HIDDEN = STAFF | {"partner": HIDDEN, "driver": HIDDEN, "other_driver": HIDDEN}
# Staff and the driver whose delivery names it.
STAFF_AND_OWNING_DRIVER_ELSE_HIDDEN = STAFF_ELSE_HIDDEN | {"driver": OK}
# A driver's own sync and pings; any driver may call, about their own data only.
DRIVERS = NOBODY | {"driver": OK, "other_driver": OK}

Body = Callable[[World, Caller], Any]


@dataclass(frozen=True)
class Row:
    access: dict[str, str]
    body: Body | None = None
    # path parameter -> key of World.ids (or "open"/"delivered" for `{token}`)
    at: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    form: bool = False
    once: bool = False


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _login(_: World, __: Caller) -> dict[str, str]:
    return {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}


def _user(_: World, __: Caller) -> dict[str, str]:
    return {
        "email": unique("user") + "@access.test",
        "password": "pw-access-1",
        "role": "dispatcher",
    }


def _driver(w: World, _: Caller) -> dict[str, str]:
    email = unique("driver") + "@access.test"
    return {"name": "D", "email": email, "password": "pw-access-1", "home_hub_id": w.ids["hub_id"]}


def _hub(_: World, __: Caller) -> dict[str, Any]:
    return {"name": "Hub", "code": unique("AX"), "location": point(13.4, 52.5)}


def _zone(w: World, _: Caller) -> dict[str, Any]:
    return {"name": unique("Zone "), "hub_id": w.ids["hub_id"], "area": square(13.5, 52.6, 0.001)}


def _pickup(w: World, _: Caller) -> dict[str, Any]:
    return {"name": unique("Point "), "location": point(13.41, 52.51), "hub_id": w.ids["hub_id"]}


def _shipment(w: World, _: Caller) -> dict[str, Any]:
    return shipment_body(w.ids["hub_id"])


def _route(w: World, _: Caller) -> dict[str, Any]:
    return {
        "driver_id": w.ids["driver_id"],
        "hub_id": w.ids["hub_id"],
        "date": _today(),
        "stops": [],
    }


def _stops(w: World, _: Caller) -> dict[str, Any]:
    keep = ("shipment_id", "spare_shipment_id", "delivered_shipment_id")
    return {"stops": [{"shipment_id": w.ids[key]} for key in keep]}


def _push(_: World, caller: Caller) -> dict[str, Any]:
    return {"device_id": caller.device_id, "batch_id": str(uuid.uuid4()), "events": []}


def _pings(_: World, caller: Caller) -> dict[str, Any]:
    ping = {"at": datetime.now(UTC).isoformat(), "lon": 13.4, "lat": 52.5}
    return {"device_id": caller.device_id, "pings": [ping]}


MATRIX: dict[str, Row] = {
    "GET /healthz": Row(PUBLIC),
    "GET /readyz": Row(PUBLIC),
    "POST /v1/auth/token": Row(PUBLIC, body=_login),
    "POST /v1/users": Row(ADMIN, body=_user),
    "POST /v1/hubs": Row(STAFF, body=_hub),
    "GET /v1/hubs": Row(STAFF),
    "GET /v1/hubs/{hub_id}": Row(STAFF),
    "POST /v1/zones": Row(STAFF, body=_zone),
    "GET /v1/zones": Row(STAFF),
    "POST /v1/pickup-points": Row(STAFF, body=_pickup),
    "GET /v1/pickup-points": Row(STAFF),
    "POST /v1/drivers": Row(STAFF, body=_driver),
    "GET /v1/drivers": Row(STAFF),
    "GET /v1/drivers/{driver_id}": Row(STAFF),
    "POST /v1/drivers/{driver_id}/deactivate": Row(STAFF, at={"driver_id": "spare_driver_id"}),
    "POST /v1/drivers/{driver_id}/activate": Row(STAFF, at={"driver_id": "spare_driver_id"}),
    "GET /v1/drivers/{driver_id}/track": Row(STAFF_AND_OWN_DRIVER),
    "POST /v1/shipments": Row(STAFF, body=_shipment),
    "GET /v1/shipments": Row(STAFF),
    "POST /v1/shipments/bulk": Row(STAFF, body=lambda w, c: {"shipments": [_shipment(w, c)]}),
    "GET /v1/shipments/{shipment_id}": Row(STAFF_AND_OWN_DRIVER),
    "PATCH /v1/shipments/{shipment_id}": Row(STAFF, body=lambda w, c: {"notes": "ring twice"}),
    "POST /v1/shipments/{shipment_id}/cancel": Row(
        STAFF, at={"shipment_id": "spare_shipment_id"}, once=True
    ),
    "GET /v1/shipments/{shipment_id}/events": Row(STAFF_AND_OWN_DRIVER),
    "GET /v1/shipments/{shipment_id}/pod": Row(
        STAFF_ELSE_HIDDEN, at={"shipment_id": "delivered_shipment_id"}
    ),
    "GET /v1/shipments/{shipment_id}/evidence": Row(
        STAFF_ELSE_HIDDEN, at={"shipment_id": "delivered_shipment_id"}
    ),
    "POST /v1/routes": Row(STAFF, body=_route),
    "GET /v1/routes": Row(STAFF_AND_DRIVERS),
    "GET /v1/routes/{route_id}": Row(STAFF_AND_OWN_DRIVER),
    "PUT /v1/routes/{route_id}/stops": Row(STAFF, body=_stops),
    "POST /v1/routes/{route_id}/reassign": Row(
        STAFF, body=lambda w, c: {"driver_id": w.ids["driver_id"]}
    ),
    "POST /v1/routes/{route_id}/publish": Row(STAFF),
    "POST /v1/sync/push": Row(DRIVERS, body=_push),
    "GET /v1/sync/pull": Row(DRIVERS),
    "PUT /v1/blobs/{sha256}": Row(
        STAFF_AND_DRIVERS | {"partner": FORBIDDEN},
        body=lambda w, c: w.photo,
        content_type="image/jpeg",
    ),
    "GET /v1/blobs/{sha256}": Row(STAFF_AND_OWNING_DRIVER_ELSE_HIDDEN),
    "POST /v1/tracking/pings": Row(DRIVERS, body=_pings),
    "GET /v1/tracking/positions": Row(STAFF),
    "GET /v1/notifications": Row(STAFF),
    "GET /v1/track/{token}": Row(BY_TOKEN),
    "POST /v1/track/{token}/instructions": Row(
        BY_TOKEN, body=lambda w, c: {"type": "safe_drop", "location_note": "behind the gate"}
    ),
    "GET /v1/track/{token}/pickup-points": Row(BY_TOKEN),
    "GET /v1/track/{token}/pod": Row(
        BY_TOKEN | {"other_recipient": HIDDEN}, at={"token": "delivered"}
    ),
    "GET /v1/track/{token}/pod/photos/{sha256}": Row(BY_TOKEN_OWN, at={"token": "delivered"}),
    "GET /v1/track/{token}/stream": Row(BY_TOKEN),
    # Not in the OpenAPI: the recipient's HTML page and the live feed.
    "GET /t/{token}": Row(BY_TOKEN),
    "POST /t/{token}": Row(
        BY_TOKEN, body=lambda w, c: {"type": "safe_drop", "location_note": "porch"}, form=True
    ),
    "WS /v1/live": Row(STAFF_AND_PARTNERS),
}
