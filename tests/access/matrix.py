"""The role-by-endpoint access matrix: one row per operation, what each caller must get.

A row names the operation as `METHOD /path` (exactly as the OpenAPI spells it; `WS` for a
WebSocket; a `?query` after it makes a second row of the same operation) and an access
profile: the outcome for every caller of `CALLERS`. Add a caller (a partner API key, a courier
applicant) by adding it to `CALLERS`, to the world (tests/access/world.py) and to the
profiles. Add an operation by adding its row; when a path parameter should name another object
than the default one, say which with `at=` (a caller's own ids, `Caller.ids`, still win for
the keys they hold); when a body is needed for the allowed callers to succeed, give `body=`
(it may be awaitable); query parameters go in `query=`.

Outcomes: OK is a 2xx or 3xx (on a `once=True` row, where the first allowed caller already
did it, also a 409; on a `refused_by_state=True` row, a 409 of the object's state); UNAUTH is
401, FORBIDDEN 403 (the role may not do this at all), HIDDEN 404 (the object is someone
else's, or the token unknown: never a hint that it exists). Callers are tried refusals first,
so a refused call that changed anything shows in the allowed ones.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.access.world import HOOK_URL, Caller, World, unique
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, TEST_URL
from tests.couriers.support import application_body
from tests.factories import CENTER, point, shipment_body, square

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
    # A courier: a driver who came through an application (role driver), offered work.
    "courier",
    # Organisation API keys: a shipper's (owner of a shipment, endpoints, a delivery), a
    # carrier's (a shipment handed over to it), and other organisations' calling with those ids.
    "shipper",
    "other_shipper",
    "carrier",
    "other_carrier",
    # Courier applicant tokens: the owner of the application and document ids, and another.
    "applicant",
    "other_applicant",
)
KEYS = ("shipper", "other_shipper", "carrier", "other_carrier")
APPLICANTS = ("applicant", "other_applicant")
# An applicant token reaches only its application's paths and blobs: elsewhere it is no token.
SIGNED_OUT = dict.fromkeys(("anonymous", "recipient", "other_recipient", *APPLICANTS), UNAUTH)
NOBODY = SIGNED_OUT | dict.fromkeys(
    ("admin", "dispatcher", "partner", "driver", "other_driver", "courier", *KEYS), FORBIDDEN
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
STAFF_AND_OWN_DRIVER = STAFF | {"driver": OK, "other_driver": HIDDEN, "courier": HIDDEN}
# Staff see all; each driver a list of their own (filtered, so never a 404).
STAFF_AND_DRIVERS = STAFF | {"driver": OK, "other_driver": OK, "courier": OK}
# No role guard: staff only, everyone else the 404 of an object that does not exist.
STAFF_ELSE_HIDDEN = STAFF | dict.fromkeys(
    ("partner", "driver", "other_driver", "courier", *KEYS), HIDDEN
)
# Staff and the driver whose delivery names it.
STAFF_AND_OWNING_DRIVER_ELSE_HIDDEN = STAFF_ELSE_HIDDEN | {"driver": OK}
# A driver's own sync and pings; any driver may call, about their own data only.
DRIVERS = NOBODY | {"driver": OK, "other_driver": OK, "courier": OK}
# Signed-in users (not keys, not applicants) acting on their own account.
USERS = NOBODY | dict.fromkeys(
    ("admin", "dispatcher", "partner", "driver", "other_driver", "courier"), OK
)
# An organisation's own objects: admin any, a key its organisation's (another's: 404).
OWN_ORG = ADMIN | {"shipper": OK, "other_shipper": HIDDEN, "carrier": OK, "other_carrier": HIDDEN}
# Lists filtered to the caller's organisation.
ORG_LISTS = ADMIN | dict.fromkeys(KEYS, OK)
# Shipments: staff any, a driver those on their route, a shipper its own, a carrier those
# handed over to it.
SHIPMENT_READERS = STAFF_AND_OWN_DRIVER | {
    "shipper": OK,
    "other_shipper": HIDDEN,
    "carrier": OK,
    "other_carrier": HIDDEN,
}
# Within its own application's paths, an applicant token is a principal: the owner may act,
# another applicant gets the 404 of another owner's application.
OWNING_APPLICANT = NOBODY | {"applicant": OK, "other_applicant": HIDDEN}
APPLICANT_OR_STAFF = OWNING_APPLICANT | {"admin": OK, "dispatcher": OK}
# Staff operations on an application: an applicant token reaches the path, but not the role.
STAFF_ON_APPLICATION = STAFF | dict.fromkeys(APPLICANTS, FORBIDDEN)
# Work for couriers (drivers); employees are no couriers (404).
COURIERS = NOBODY | {"driver": HIDDEN, "other_driver": HIDDEN, "courier": OK}

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
    query: dict[str, str] | None = None
    # The allowed callers get past every access check to a 409 of the object's state, which
    # the world cannot bring about (a drill's recovery is never applied): access only.
    refused_by_state: bool = False


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


SHIPPERS = STAFF | {"shipper": OK, "other_shipper": OK}


def _password(_: World, caller: Caller) -> dict[str, str]:
    return {"current_password": caller.password or "", "new_password": "access-matrix-passphrase-7"}


def _org(_: World, __: Caller) -> dict[str, str]:
    return {"name": unique("Org "), "kind": "shipper"}


def _later(_: World, __: Caller) -> dict[str, str]:
    return {"expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}


def _since(_: World, __: Caller) -> dict[str, str]:
    return {"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}


def _hook(_: World, __: Caller) -> dict[str, Any]:
    return {"url": HOOK_URL, "event_types": ["shipment.created"]}


def _handover(w: World, _: Caller) -> dict[str, str]:
    return {"organization_id": w.ids["carrier_org_id"]}


def _application(_: World, __: Caller) -> dict[str, Any]:
    return application_body()


def _document(w: World, _: Caller) -> dict[str, Any]:
    # A kind the application holds none of: another id card would supersede the one the
    # document rows name.
    return {"kind": "drivers_license", "blob_sha256": w.ids["document_sha256"]}


async def _email_code(w: World, _: Caller) -> dict[str, str]:
    """The newest code the application was sent (the row before sends one)."""
    pool = await asyncpg.create_pool(TEST_URL, min_size=1, max_size=1)
    try:
        body = await pool.fetchval(
            "SELECT body FROM courier_messages WHERE application_id = $1 AND kind = 'email_code'"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            w.callers["applicant"].ids["application_id"],
        )
    finally:
        await pool.close()
    return {"code": re.search(r"\b(\d{6})\b", body).group(1)}


def _offer(w: World, caller: Caller) -> dict[str, Any]:
    """Work of its own for each allowed caller: an offer holds its shipments while open."""
    n = {"admin": 0, "dispatcher": 1}.get(caller.name, 2)
    return {
        "shipment_ids": [w.ids[f"offer_shipment_{n}"]],
        "courier_ids": [w.ids["courier_id"]],
        "pay": {"amount": 12.5, "currency": "EUR"},
        "expires_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
    }


def _availability(_: World, __: Caller) -> dict[str, Any]:
    return {"availability": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(1, 8)]}


def _plan(w: World, _: Caller) -> dict[str, Any]:
    return {"hub_id": w.ids["hub_id"], "date": _today(), "time_limit_s": 1}


def _disruption(w: World, _: Caller) -> dict[str, Any]:
    return {"kind": "volume_spike", "mode": "drill", "hub_id": w.ids["hub_id"], "extra": 1}


def _planning(_: World, __: Caller) -> dict[str, Any]:
    return {"shift_start": "08:00:00", "shift_end": "16:00:00"}


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
    "POST /v1/shipments": Row(SHIPPERS, body=_shipment),
    "GET /v1/shipments": Row(STAFF | dict.fromkeys(KEYS, OK)),
    "POST /v1/shipments/bulk": Row(SHIPPERS, body=lambda w, c: {"shipments": [_shipment(w, c)]}),
    "GET /v1/shipments/{shipment_id}": Row(SHIPMENT_READERS),
    "PATCH /v1/shipments/{shipment_id}": Row(STAFF, body=lambda w, c: {"notes": "ring twice"}),
    "POST /v1/shipments/{shipment_id}/cancel": Row(
        STAFF, at={"shipment_id": "spare_shipment_id"}, once=True
    ),
    "GET /v1/shipments/{shipment_id}/events": Row(SHIPMENT_READERS),
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
        STAFF_AND_DRIVERS
        | {"partner": FORBIDDEN, "carrier": OK, "other_carrier": OK}
        | dict.fromkeys(APPLICANTS, OK),
        body=lambda w, c: w.photo,
        content_type="image/jpeg",
    ),
    # Applicant tokens reach blob paths: another's blob is a 404 for them too.
    "GET /v1/blobs/{sha256}": Row(
        STAFF_AND_OWNING_DRIVER_ELSE_HIDDEN | dict.fromkeys(APPLICANTS, HIDDEN)
    ),
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
    # A driver's feed carries the work offered to them, and only that.
    "WS /v1/live?types=offer": Row(
        STAFF_AND_PARTNERS | dict.fromkeys(("driver", "other_driver", "courier"), OK)
    ),
    "GET /": Row(PUBLIC),
    # Sessions and accounts.
    # By the refresh token in the body (one of a spare account's sessions), whoever calls.
    "POST /v1/auth/refresh": Row(
        PUBLIC, body=lambda w, c: {"refresh_token": w.refresh_tokens.pop()}
    ),
    "POST /v1/users/{user_id}/deactivate": Row(ADMIN),
    "POST /v1/users/{user_id}/activate": Row(ADMIN),
    "GET /v1/devices": Row(STAFF),
    # The dispatcher names a device of its own (Caller.ids): a released device is gone.
    "POST /v1/devices/{device_pk}/release": Row(STAFF),
    # Partners.
    "POST /v1/organizations": Row(ADMIN, body=_org),
    "GET /v1/organizations": Row(STAFF),
    "GET /v1/organizations/{organization_id}": Row(OWN_ORG | {"dispatcher": OK}),
    "POST /v1/organizations/{organization_id}/api-keys": Row(ADMIN, body=lambda w, c: {}),
    "GET /v1/organizations/{organization_id}/api-keys": Row(ADMIN),
    "PATCH /v1/organizations/{organization_id}/api-keys/{key_id}": Row(ADMIN, body=_later),
    "POST /v1/organizations/{organization_id}/api-keys/{key_id}/revoke": Row(
        ADMIN, at={"key_id": "spare_key_id"}
    ),
    "POST /v1/shipments/{shipment_id}/handover": Row(
        STAFF, body=_handover, at={"shipment_id": "handover_shipment_id"}, once=True
    ),
    "POST /v1/routes/{route_id}/handover": Row(
        STAFF, body=_handover, at={"route_id": "spare_route_id"}, once=True
    ),
    "POST /v1/partner/events": Row(
        NOBODY | {"carrier": OK, "other_carrier": OK}, body=lambda w, c: {"events": [{}]}
    ),
    "POST /v1/webhook-endpoints": Row(ORG_LISTS, body=_hook),
    "GET /v1/webhook-endpoints": Row(ORG_LISTS),
    "GET /v1/webhook-endpoints/{endpoint_id}": Row(OWN_ORG),
    "PATCH /v1/webhook-endpoints/{endpoint_id}": Row(
        OWN_ORG, body=lambda w, c: {"description": "access"}
    ),
    "POST /v1/webhook-endpoints/{endpoint_id}/disable": Row(OWN_ORG),
    "POST /v1/webhook-endpoints/{endpoint_id}/enable": Row(OWN_ORG),
    "POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret": Row(OWN_ORG),
    "POST /v1/webhook-endpoints/{endpoint_id}/replay": Row(OWN_ORG, body=_since),
    "DELETE /v1/webhook-endpoints/{endpoint_id}": Row(
        OWN_ORG, at={"endpoint_id": "spare_endpoint_id"}
    ),
    "GET /v1/webhook-deliveries": Row(ORG_LISTS),
    "GET /v1/webhook-deliveries/{delivery_id}/attempts": Row(OWN_ORG),
    "POST /v1/webhook-deliveries/{delivery_id}/redeliver": Row(OWN_ORG),
    # Couriers.
    "POST /v1/courier-applications": Row(PUBLIC, body=_application),
    "GET /v1/courier-applications/requirements": Row(PUBLIC, query={"vehicle_kind": "bike"}),
    "GET /v1/courier-applications": Row(STAFF),
    "GET /v1/courier-applications/{application_id}": Row(APPLICANT_OR_STAFF),
    "PATCH /v1/courier-applications/{application_id}": Row(
        OWNING_APPLICANT | {"admin": FORBIDDEN}, body=lambda w, c: {"city": "Potsdam"}
    ),
    "POST /v1/courier-applications/{application_id}/email-code": Row(OWNING_APPLICANT),
    "POST /v1/courier-applications/{application_id}/verify-email": Row(
        OWNING_APPLICANT, body=_email_code
    ),
    "POST /v1/courier-applications/{application_id}/documents": Row(
        OWNING_APPLICANT, body=_document
    ),
    "GET /v1/courier-applications/{application_id}/documents/{document_id}/content": Row(
        APPLICANT_OR_STAFF
    ),
    "POST /v1/courier-applications/{application_id}/submit": Row(OWNING_APPLICANT),
    "GET /v1/courier-applications/{application_id}/document-reads": Row(STAFF_ON_APPLICATION),
    "POST /v1/courier-applications/{application_id}/documents/{document_id}/verify": Row(
        STAFF_ON_APPLICATION
    ),
    "POST /v1/courier-applications/{application_id}/documents/{document_id}/reject": Row(
        STAFF_ON_APPLICATION, body=lambda w, c: {"reason": "blurred"}
    ),
    "POST /v1/courier-applications/{application_id}/start-review": Row(
        STAFF_ON_APPLICATION, at={"application_id": "review_application_id"}, once=True
    ),
    "POST /v1/courier-applications/{application_id}/checks": Row(
        STAFF_ON_APPLICATION, at={"application_id": "checks_application_id"}, once=True
    ),
    "POST /v1/courier-applications/{application_id}/approve": Row(
        STAFF_ON_APPLICATION,
        body=lambda w, c: {"home_hub_id": w.ids["hub_id"]},
        at={"application_id": "approve_application_id"},
        once=True,
    ),
    "POST /v1/courier-applications/{application_id}/reject": Row(
        STAFF_ON_APPLICATION,
        body=lambda w, c: {"reason": "incomplete"},
        at={"application_id": "reject_application_id"},
        once=True,
    ),
    "POST /v1/courier-applications/{application_id}/suspend": Row(
        STAFF_ON_APPLICATION,
        body=lambda w, c: {"reason": "complaint"},
        at={"application_id": "suspend_application_id"},
        once=True,
    ),
    "POST /v1/courier-applications/{application_id}/reactivate": Row(
        STAFF_ON_APPLICATION, at={"application_id": "reactivate_application_id"}, once=True
    ),
    "POST /v1/courier-applications/{application_id}/offboard": Row(
        STAFF_ON_APPLICATION,
        body=lambda w, c: {"reason": "left"},
        at={"application_id": "offboard_application_id"},
        once=True,
    ),
    "POST /v1/courier-checks/{check_id}/result": Row(dict.fromkeys(CALLERS, UNAUTH)),
    "GET /v1/couriers/me": Row(COURIERS),
    "PUT /v1/couriers/me/availability": Row(COURIERS, body=_availability),
    # Offline, then online again: the courier stays eligible for the offers rows.
    "POST /v1/couriers/me/offline": Row(COURIERS),
    "POST /v1/couriers/me/online": Row(COURIERS, body=lambda w, c: {"position": point(*CENTER)}),
    "POST /v1/offers": Row(STAFF, body=_offer),
    "GET /v1/offers": Row(STAFF),
    "GET /v1/offers/mine": Row(DRIVERS),
    "GET /v1/offers/{offer_id}": Row(STAFF),
    "POST /v1/offers/{offer_id}/withdraw": Row(STAFF, once=True),
    # Made to the courier; the employee drivers are not offered it (404).
    "POST /v1/offers/{offer_id}/accept": Row(COURIERS, at={"offer_id": "accept_offer_id"}),
    "POST /v1/offers/{offer_id}/decline": Row(COURIERS, at={"offer_id": "decline_offer_id"}),
    # Planning and disruptions.
    "POST /v1/plans": Row(STAFF, body=_plan),
    "GET /v1/plans/{plan_id}": Row(STAFF),
    "POST /v1/plans/{plan_id}/apply": Row(STAFF, once=True),
    "PUT /v1/drivers/{driver_id}/planning": Row(STAFF, body=_planning),
    "GET /v1/drivers/{driver_id}/planning": Row(STAFF),
    "POST /v1/disruptions": Row(STAFF, body=_disruption),
    "GET /v1/disruptions": Row(STAFF),
    "GET /v1/disruptions/{disruption_id}": Row(STAFF),
    "POST /v1/disruptions/{disruption_id}/apply": Row(STAFF, refused_by_state=True),
    "GET /v1/hubs/{hub_id}/contingency": Row(STAFF),
    "GET /v1/kpis": Row(STAFF, query={"from": _today(), "to": _today(), "group_by": "driver"}),
    "GET /v1/kpis/targets": Row(STAFF),
    "PUT /v1/kpis/targets/{hub_id}/{kpi}": Row(ADMIN, body=lambda w, c: {"min": 0.9}),
    "DELETE /v1/kpis/targets/{hub_id}/{kpi}": Row(ADMIN),
    "PUT /v1/hubs/{hub_id}/contingency": Row(STAFF, body=lambda w, c: {}),
    "GET /v1/console/board": Row(STAFF, query={"date": _today()}),
    # The console's page and files are public: signing in happens inside it, through the API.
    "GET /console": Row(PUBLIC),
    "GET /console/config.json": Row(PUBLIC),
    "GET /console/static/{path}": Row(PUBLIC, at={"path": "console_asset"}),
    # Incidents (triage).
    "GET /v1/incidents": Row(STAFF),
    "GET /v1/incidents?status=open,acknowledged&severity=medium&kind=custody_conflict": Row(STAFF),
    "GET /v1/incidents/{incident_id}": Row(STAFF),
    "POST /v1/incidents/{incident_id}/acknowledge": Row(STAFF),
    "POST /v1/incidents/{incident_id}/assign": Row(
        STAFF, body=lambda w, c: {"user_id": w.ids["user_id"]}
    ),
    "POST /v1/incidents/{incident_id}/comments": Row(STAFF, body=lambda w, c: {"text": "on it"}),
    "POST /v1/incidents/{incident_id}/resolve": Row(
        STAFF,
        body=lambda w, c: {"resolution_code": "fixed"},
        at={"incident_id": "resolve_incident_id"},
        once=True,
    ),
    "POST /v1/incidents/{incident_id}/reopen": Row(
        STAFF,
        body=lambda w, c: {"reason": "it came back"},
        at={"incident_id": "reopen_incident_id"},
        once=True,
    ),
    "POST /v1/incidents/{incident_id}/playbook/{step}": Row(STAFF, body=lambda w, c: {}),
    "GET /v1/incidents/{incident_id}/review": Row(STAFF),
    "POST /v1/incidents/{incident_id}/review/findings": Row(
        STAFF, body=lambda w, c: {"kind": "finding", "text": "the driver was not told"}
    ),
    "GET /v1/disruptions/{disruption_id}/review": Row(STAFF),
    "POST /v1/disruptions/{disruption_id}/review/findings": Row(
        STAFF, body=lambda w, c: {"kind": "follow_up", "text": "add a spare van", "due": _today()}
    ),
    "GET /v1/hubs/{hub_id}/incident-rules": Row(STAFF),
    "PUT /v1/hubs/{hub_id}/incident-rules": Row(
        STAFF,
        body=lambda w, c: {"rules": [{"kind": "late_risk", "threshold": 30, "severity": "high"}]},
    ),
    # Last: they end sessions of the callers themselves (a password change ends the others).
    "POST /v1/auth/password": Row(USERS, body=_password),
    "POST /v1/auth/logout": Row(USERS),
}
