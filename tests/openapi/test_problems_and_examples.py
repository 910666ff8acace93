"""What the OpenAPI shows is what the API does: real error answers match `ProblemDetails` and
carry a code their operation documents; every example in the document validates against the
schema beside it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.lib.errors import PROBLEM_JSON
from tests.factories import Api
from tests.openapi.checks import operations, problem_codes


@pytest.fixture
def schema(app: Litestar) -> dict[str, Any]:
    return app.openapi_schema.to_schema()


def validator(schema: dict[str, Any], fragment: dict[str, Any]) -> Draft202012Validator:
    """`fragment` with the document's components at hand for its `$ref`s."""
    return Draft202012Validator({**fragment, "components": schema["components"]})


def errors_of(schema: dict[str, Any], fragment: dict[str, Any], value: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(schema, fragment).iter_errors(value)
    ]


async def test_real_errors_are_documented_problems(
    schema: dict[str, Any], client: AsyncTestClient, api: Api
) -> None:
    answers = {
        ("GET", "/v1/shipments/{shipment_id}"): [
            await client.get(f"/v1/shipments/{uuid.uuid4()}"),  # no token
            await api.get(f"/v1/shipments/{uuid.uuid4()}"),  # no such shipment
        ],
        ("POST", "/v1/hubs"): [
            await api.client.post(
                "/v1/hubs",
                content=b"{",
                headers=api.headers | {"content-type": "application/json"},
            ),
            await api.post("/v1/hubs", {"name": "Hub", "code": "H1"}),  # fields missing
        ],
        ("GET", "/v1/shipments"): [await api.get("/v1/shipments", params={"cursor": "nope"})],
        ("POST", "/v1/sync/push"): [await api.post("/v1/sync/push", {})],  # not a driver
    }
    by_label = {op.label: op.body for op in operations(schema)}
    problem = {"$ref": "#/components/schemas/ProblemDetails"}
    seen_statuses = set()
    for (method, path), responses in answers.items():
        documented = by_label[f"{method} {path}"]["responses"]
        for response in responses:
            assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text
            body = response.json()
            assert not errors_of(schema, problem, body), (body, errors_of(schema, problem, body))
            status = str(response.status_code)
            codes = problem_codes(documented.get(status, {}))
            assert body["code"] in codes, (method, path, status, body["code"], codes)
            seen_statuses.add(response.status_code)
    assert seen_statuses >= {400, 401, 403, 404, 422}


def examples_in(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema fragment, example value) for every example the document holds."""
    for name, component in schema["components"]["schemas"].items():
        for prop, fragment in component.get("properties", {}).items():
            for n, value in enumerate(fragment.get("examples", [])):
                yield f"{name}.{prop} example {n}", fragment, value
    for op in operations(schema):
        contents = [("request", op.body.get("requestBody", {}).get("content", {}))]
        contents += [(status, r.get("content", {})) for status, r in op.body["responses"].items()]
        for what, content in contents:
            for media_type, media in content.items():
                where = f"{op.label} {what} {media_type}"
                if "example" in media:
                    yield where, media["schema"], media["example"]
                for key, example in media.get("examples", {}).items():
                    if "$ref" in example:
                        example = schema["components"]["examples"][example["$ref"].split("/")[-1]]
                    yield f"{where} {key}", media["schema"], example["value"]


def test_every_example_matches_its_schema(schema: dict[str, Any]) -> None:
    found = list(examples_in(schema))
    wrong = [
        f"{where}: {problems}"
        for where, fragment, value in found
        if (problems := errors_of(schema, fragment, value))
    ]
    assert not wrong, "\n".join(wrong)
    wheres = " ".join(where for where, _, _ in found)
    for label in (
        "POST /v1/sync/push request",
        "GET /v1/sync/pull 200",
        "POST /v1/shipments request",
    ):
        assert label in wheres
    assert len(found) > 500  # a problem example per code of every operation, and the bodies


async def test_real_pulls_and_pushes_match_their_documented_schemas(
    schema: dict[str, Any], api: Api
) -> None:
    """Push and pull are raw on the wire (backend/sync/documented.py describes them)."""
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    shipment = await api.shipment(hub["id"], window=None)
    today = datetime.now(UTC).date().isoformat()
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=today)
    await api.publish_route(route["id"])
    handheld = await api.as_driver(driver, "schema-device")
    by_label = {op.label: op.body for op in operations(schema)}

    def documented(label: str, status: str = "200") -> dict[str, Any]:
        return by_label[label]["responses"][status]["content"]["application/json"]["schema"]

    snapshot = await handheld.get("/v1/sync/pull")
    assert {c["entity"] for c in snapshot.json()["changes"]} == {"route", "stop", "shipment"}
    assert not errors_of(schema, documented("GET /v1/sync/pull"), snapshot.json())
    event = {
        "event_id": str(uuid.uuid4()),
        "seq": 1,
        "type": "scan_loaded",
        "shipment_id": shipment["id"],
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    body = {"device_id": "schema-device", "batch_id": str(uuid.uuid4()), "events": [event]}
    push_body = by_label["POST /v1/sync/push"]["requestBody"]["content"]["application/json"]
    assert not errors_of(schema, push_body["schema"], body)
    pushed = await handheld.post("/v1/sync/push", body)
    assert pushed.status_code == 200, pushed.text
    assert not errors_of(schema, documented("POST /v1/sync/push"), pushed.json())
    delta = await handheld.get("/v1/sync/pull", params={"cursor": snapshot.json()["cursor"]})
    assert delta.json()["changes"], delta.json()  # the scan changed the shipment's status
    assert not errors_of(schema, documented("GET /v1/sync/pull"), delta.json())
