"""GET/PUT /v1/hubs/{hub_id}/incident-rules: the defaults, a hub's own settings, and the input
the endpoint refuses."""

import asyncio
import uuid

import pytest

from tests.factories import Api
from tests.incidents.rules_support import rule, set_rules

KINDS = [
    "late_risk",
    "driver_silent",
    "long_dwell",
    "repeated_failure",
    "route_not_started",
    "webhook_endpoint_failing",
    "offer_unanswered",
]


async def _read(api: Api, hub_id: str) -> dict:
    response = await api.get(f"/v1/hubs/{hub_id}/incident-rules")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_hub_inherits_the_defaults(api: Api) -> None:
    hub = await api.hub()
    body = await _read(api, hub["id"])
    assert [r["kind"] for r in body["rules"]] == KINDS
    assert all(r["inherited"] and r["enabled"] for r in body["rules"])
    by_kind = {r["kind"]: r for r in body["rules"]}
    assert (by_kind["late_risk"]["threshold"], by_kind["late_risk"]["unit"]) == (15, "minutes")
    assert by_kind["repeated_failure"] | {"inherited": True} == {
        "kind": "repeated_failure",
        "threshold": 2,
        "unit": "failed_attempts",
        "severity": "medium",
        "enabled": True,
        "inherited": True,
    }
    assert (body["on_call"], body["escalation_minutes"], body["escalation_inherited"]) == (
        None,
        15,
        True,
    )


async def test_a_hub_sets_its_own_and_goes_back_to_the_defaults(api: Api) -> None:
    hub, other = await api.hub(), await api.hub()
    contact = {"name": "Night desk", "phone": "+49 30 5550100", "email": "night@example.com"}
    body = await set_rules(
        api,
        hub["id"],
        rules=[rule("late_risk", 45, "critical"), rule("offer_unanswered", 5, "low", False)],
        on_call=contact,
        escalation_minutes=7,
    )
    assert body == await _read(api, hub["id"])
    by_kind = {r["kind"]: r for r in body["rules"]}
    assert by_kind["late_risk"] | {} == {
        "kind": "late_risk",
        "threshold": 45,
        "unit": "minutes",
        "severity": "critical",
        "enabled": True,
        "inherited": False,
    }
    assert (by_kind["offer_unanswered"]["enabled"], by_kind["long_dwell"]["inherited"]) == (
        False,
        True,
    )
    assert (body["on_call"], body["escalation_minutes"]) == (contact, 7)
    # Another hub is untouched.
    assert all(r["inherited"] for r in (await _read(api, other["id"]))["rules"])

    # The whole settings are replaced: what is left out is the default again.
    body = await set_rules(api, hub["id"], rules=[rule("late_risk", 20)])
    assert [r["kind"] for r in body["rules"] if not r["inherited"]] == ["late_risk"]
    assert (body["on_call"], body["escalation_inherited"]) == (None, True)
    body = await set_rules(api, hub["id"], escalation_minutes=30)
    assert all(r["inherited"] for r in body["rules"])
    assert (body["on_call"], body["escalation_minutes"]) == (None, 30)


async def test_a_dispatcher_may_set_them_and_other_roles_may_not(api: Api) -> None:
    hub = await api.hub()
    dispatcher = await api.user("dispatcher")
    await set_rules(dispatcher, hub["id"], rules=[rule("long_dwell", 10)])
    driver = await api.as_driver(await api.driver(hub["id"]))
    assert (await driver.get(f"/v1/hubs/{hub['id']}/incident-rules")).status_code == 403
    assert (await driver.put(f"/v1/hubs/{hub['id']}/incident-rules", {})).status_code == 403


async def test_an_unknown_hub_is_404_for_read_and_write(api: Api) -> None:
    missing = str(uuid.uuid4())
    assert (await api.get(f"/v1/hubs/{missing}/incident-rules")).status_code == 404
    response = await api.put(f"/v1/hubs/{missing}/incident-rules", {"rules": []})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert (await api.get("/v1/hubs/not-a-uuid/incident-rules")).status_code in (400, 404)


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ({"rules": [rule("no_such_rule", 5)]}, "rules[0].kind", None),
        (
            {"rules": [rule("late_risk", 5), rule("late_risk", 6)]},
            "rules[1].kind",
            "duplicate_rule",
        ),
        ({"rules": [rule("repeated_failure", 1)]}, "rules[0].threshold", "threshold_out_of_range"),
        ({"rules": [rule("repeated_failure", 11)]}, "rules[0].threshold", "threshold_out_of_range"),
        ({"rules": [rule("late_risk", 0)]}, "rules[0].threshold", None),
        ({"rules": [rule("late_risk", 10**30)]}, "rules[0].threshold", None),
        ({"rules": [rule("late_risk", 10, "urgent")]}, "rules[0].severity", None),
        # Unknown and missing keys: the object is named, the key in the detail.
        ({"rules": [rule("late_risk", 10) | {"extra": 1}]}, "rules[0]", "`extra`"),
        ({"rules": [{"kind": "late_risk", "severity": "high"}]}, "rules[0]", "`threshold`"),
        ({"surprise": True}, "data", "`surprise`"),
        ({"on_call": {"name": "Desk"}}, "on_call.phone", "contact_unreachable"),
        ({"on_call": {"name": "Desk\u0000", "phone": "+49 30 1"}}, "on_call.name", None),
        ({"on_call": {"name": "Desk", "phone": "call me"}}, "on_call.phone", None),
        ({"on_call": {"name": "Desk", "email": "not-an-address"}}, "on_call.email", None),
        ({"on_call": {"name": "", "email": "a@example.com"}}, "on_call.name", None),
        ({"escalation_minutes": 0}, "escalation_minutes", None),
        ({"escalation_minutes": 10_081}, "escalation_minutes", None),
        ({"escalation_minutes": [15]}, "escalation_minutes", None),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    api: Api, body: dict, field: str, expected: str | None
) -> None:
    """`expected`: the problem's code, or (in backquotes) a key its detail must name."""
    hub = await api.hub()
    response = await api.put(f"/v1/hubs/{hub['id']}/incident-rules", body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["field"] == field, problem
    if expected and expected.startswith("`"):
        assert expected in problem["detail"]
    elif expected:
        assert problem["code"] == expected
    assert all(r["inherited"] for r in (await _read(api, hub["id"]))["rules"])


async def test_a_body_that_is_not_json_is_a_400(api: Api) -> None:
    hub = await api.hub()
    response = await api.client.put(
        f"/v1/hubs/{hub['id']}/incident-rules",
        content=b"{not json",
        headers=api.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text


async def test_concurrent_writers_leave_one_whole_setting(api: Api, db) -> None:
    hub = await api.hub()
    bodies = [
        {"rules": [rule("late_risk", n), rule("long_dwell", n)], "escalation_minutes": n}
        for n in range(10, 16)
    ]
    responses = await asyncio.gather(
        *(api.put(f"/v1/hubs/{hub['id']}/incident-rules", body) for body in bodies)
    )
    assert [r.status_code for r in responses] == [200] * len(bodies)
    final = await _read(api, hub["id"])
    by_kind = {r["kind"]: r for r in final["rules"]}
    # One writer's settings, whole: never a mix of two.
    n = final["escalation_minutes"]
    assert by_kind["late_risk"]["threshold"] == by_kind["long_dwell"]["threshold"] == n
    rows = await db.fetchval(
        "SELECT count(*) FROM hub_incident_rules WHERE hub_id = $1", uuid.UUID(hub["id"])
    )
    assert rows == 2
