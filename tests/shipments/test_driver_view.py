"""A driver's view of a shipment carries what delivering it takes and nothing that stands for
the recipient: no tracking token (the recipient's page, with its PIN), no email, no PIN."""

import uuid
from typing import Any

from tests.factories import Api
from tests.recipients.support import instruct, scene, track

SECRET_KEYS = {"tracking_token", "email", "pin", "pin_hash"}


def secrets_in(value: Any, found: set[str] | None = None) -> set[str]:
    """Every key of `value`, at any depth, that names a recipient secret and holds one (the
    requirement flag `pin: true` is not a secret)."""
    found = set() if found is None else found
    if isinstance(value, dict):
        found |= {k for k in SECRET_KEYS & value.keys() if not isinstance(value[k], bool)}
        for inner in value.values():
            secrets_in(inner, found)
    elif isinstance(value, list):
        for inner in value:
            secrets_in(inner, found)
    return found


RECIPIENT = {"name": "Ada", "phone": "+49 30 555", "email": "ada@example.org"}


async def test_a_driver_reads_their_shipment_without_the_recipients_secrets(api: Api) -> None:
    s = await scene(api, stops=2, recipient=RECIPIENT, requirements={"pin": True})
    shipment = s.shipments[0]
    staff = (await api.get(f"/v1/shipments/{shipment['id']}")).json()
    assert staff["tracking_token"] and staff["recipient"]["email"] == "ada@example.org"

    mine = await s.handheld.api.get(f"/v1/shipments/{shipment['id']}")
    assert mine.status_code == 200
    view = mine.json()
    assert secrets_in(view) == set()
    assert view["recipient"] == {"name": "Ada", "phone": "+49 30 555"}
    assert view["requirements"] == {"pin": True}
    assert view["tracking_number"] == staff["tracking_number"]
    assert staff["tracking_token"] not in mine.text


async def test_dispatchers_see_the_whole_shipment(api: Api) -> None:
    s = await scene(api, stops=1, recipient=RECIPIENT)
    dispatcher = await api.user("dispatcher")
    body = (await dispatcher.get(f"/v1/shipments/{s.shipments[0]['id']}")).json()
    assert body["tracking_token"] == s.shipments[0]["tracking_token"]
    assert body["recipient"]["email"] == "ada@example.org"


async def test_other_drivers_partners_and_strangers_get_nothing(api: Api) -> None:
    s = await scene(api, stops=1, recipient=RECIPIENT)
    other = await api.as_driver(await api.driver(s.hub["id"]), "device-other")
    partner = await api.user("partner")
    sid = s.shipments[0]["id"]
    for path in (f"/v1/shipments/{sid}", f"/v1/shipments/{sid}/events"):
        assert (await other.get(path)).status_code == 404
        assert (await partner.get(path)).status_code == 403
        assert (await api.client.get(path)).status_code == 401
    assert (await s.handheld.api.get(f"/v1/shipments/{uuid.uuid4()}")).status_code == 404


async def test_pull_snapshots_and_changes_carry_no_recipient_secret(api: Api) -> None:
    s = await scene(api, stops=2, recipient=RECIPIENT, requirements={"photo": True})
    snapshot = await s.handheld.api.get("/v1/sync/pull")
    assert snapshot.status_code == 200
    assert secrets_in(snapshot.json()) == set()
    assert "ada@example.org" not in snapshot.text
    cursor = snapshot.json()["cursor"]
    # A recipient instruction and a dispatch edit reach the driver as changes.
    response = await instruct(api, s.token(1), {"type": "safe_drop", "location_note": "porch"})
    assert response.status_code == 201, response.text
    edit = await api.patch(f"/v1/shipments/{s.shipments[0]['id']}", {"notes": "ring twice"})
    assert edit.status_code == 200
    changes = await s.handheld.api.get("/v1/sync/pull", params={"cursor": cursor})
    body = changes.json()
    assert {c["id"] for c in body["changes"] if c["entity"] == "shipment"} == {
        s.shipments[0]["id"],
        s.shipments[1]["id"],
    }
    assert secrets_in(body) == set()
    for token in (s.token(0), s.token(1), "ada@example.org"):
        assert token not in changes.text and token not in snapshot.text


async def test_a_drivers_event_list_hides_the_pin_entered(api: Api, settings) -> None:
    s = await scene(api, stops=1, requirements={"pin": True})
    pin = (await track(api, s.token(0)))["pin"]
    await s.load_and_start()
    event = s.handheld.event(
        "delivered",
        60,
        shipment_id=s.shipments[0]["id"],
        data={"handoff": "recipient", "pin": pin},
    )
    assert (await s.handheld.push([event]))["results"][0]["status"] == "accepted"
    path = f"/v1/shipments/{s.shipments[0]['id']}/events"
    staff = (await api.get(path)).json()["items"]
    assert any(e["data"].get("pin") == pin for e in staff)
    mine = await s.handheld.api.get(path)
    assert mine.status_code == 200
    assert secrets_in(mine.json()) == set()
    assert [e["type"] for e in mine.json()["items"]] == [e["type"] for e in staff]


# Drivers cannot open the dispatch live feed at all: tests/live/test_workers.py, against a real
# server (test_the_feed_needs_staff_or_partner_and_the_stream_a_real_token).
