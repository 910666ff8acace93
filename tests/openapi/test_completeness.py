"""Every operation of the OpenAPI is documented enough to generate a client and read it: texts,
tags, a stable id, security, its errors with the problem schema and codes. Each test fails with
the list of what is missing, so a new handler's gaps are read off in one run (docs/api.md says
how to fill them: a docstring and a `raises(...)`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from backend.lib.errors import PROBLEM_JSON
from tests.openapi.checks import documented_codes, operations, problem_codes, raised_codes

OPERATION_IDS = Path(__file__).with_name("operation_ids.txt")
PROBLEM_REF = "#/components/schemas/ProblemDetails"
ACCESS = "**Access:**"


@pytest.fixture
def schema(app: Litestar) -> dict[str, Any]:
    return app.openapi_schema.to_schema()


def test_every_operation_has_texts_tags_and_security(schema: dict[str, Any]) -> None:
    missing = []
    for op in operations(schema):
        body = op.body
        lacks = [
            key for key in ("summary", "description", "operationId", "tags") if not body.get(key)
        ]
        if "security" not in body:
            lacks.append("security (or [] for public)")
        if body.get("description", "").startswith(ACCESS):  # nothing but the derived sentence
            lacks.append("a docstring")
        if lacks:
            missing.append(f"{op.label}: {', '.join(lacks)}")
    assert not missing, "\n".join(["Operations lacking documentation:", *missing])


def test_every_operation_documents_its_errors_as_problems(schema: dict[str, Any]) -> None:
    missing = []
    for op in operations(schema):
        errors = {s: r for s, r in op.body["responses"].items() if s[0] in "45"}
        takes_input = op.body.get("parameters") or op.body.get("requestBody")
        # Only a public operation without any input (the health checks) has no 4xx to give.
        if not any(s.startswith("4") for s in errors) and (takes_input or op.body["security"]):
            missing.append(f"{op.label}: no 4xx")
        for status, response in errors.items():
            media = response.get("content", {}).get(PROBLEM_JSON)
            if not media or media["schema"] != {"$ref": PROBLEM_REF} or not media.get("examples"):
                missing.append(f"{op.label} {status}: not a ProblemDetails with code examples")
                continue
            for code, example in media["examples"].items():
                name = example.get("$ref", "").removeprefix("#/components/examples/")
                value = schema["components"]["examples"].get(name, {}).get("value", {})
                if (value.get("status"), value.get("code")) != (int(status), code):
                    missing.append(f"{op.label} {status}: example {code} is {example}")
    assert not missing, "\n".join(missing)


def test_every_code_the_code_base_raises_is_documented(schema: dict[str, Any]) -> None:
    """Statuses and codes found in backend/ (`Conflict(…, code="route_closed")`, an error class's
    own code) each appear on at least one operation: declare them with `raises(...)` on the
    handlers whose service raises them."""
    documented = documented_codes(schema)
    codes = {code for _, code in documented}
    undocumented = [
        f"{status or 'any'} {code} (raised at {', '.join(where[:3])})"
        for (status, code), where in sorted(raised_codes().items(), key=str)
        if ((status, code) not in documented if status else code not in codes)
    ]
    assert not undocumented, "\n".join(["Raised but documented nowhere:", *undocumented])


def test_operation_ids_are_unique_and_stable(schema: dict[str, Any]) -> None:
    """A changed id breaks generated clients: tests/openapi/operation_ids.txt is the record.
    A new operation is added there (`METHOD path id`, sorted); a renamed one is a decision."""
    ids = [op.body["operationId"] for op in operations(schema)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    current = sorted(f"{op.label} {op.body['operationId']}" for op in operations(schema))
    recorded = OPERATION_IDS.read_text().splitlines()
    changed = sorted(set(recorded) ^ set(current))
    assert not changed, "\n".join(
        ["Operation ids differ from operation_ids.txt (- recorded, + now):"]
        + [("- " if line in recorded else "+ ") + line for line in changed]
    )


def test_component_names_are_clean(schema: dict[str, Any]) -> None:
    names = schema["components"]["schemas"]
    unclean = [name for name in names if "." in name or "_" in name or "backend" in name]
    assert not unclean, unclean
    assert all(
        component.get("title") == name for name, component in names.items() if "title" in component
    )


def test_every_tag_in_use_is_described(schema: dict[str, Any]) -> None:
    described = {tag["name"] for tag in schema["tags"] if tag.get("description")}
    used = {tag for op in operations(schema) for tag in op.body["tags"]}
    assert not used - described, (
        f"tags without a description in backend/lib/openapi/config.py: {sorted(used - described)}"
    )


def test_security_schemes_and_public_operations(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http"}
    assert {s["scheme"] for s in schemes.values()} == {"bearer"}
    by_label = {op.label: op.body for op in operations(schema)}
    assert by_label["POST /v1/auth/token"]["security"] == []
    assert by_label["GET /v1/track/{token}"]["security"] == []
    assert by_label["POST /v1/sync/push"]["security"] == [{"userToken": []}]
    assert {"apiKey": []} in by_label["POST /v1/shipments"]["security"]
    token_codes = {"missing_token", "invalid_token"}
    public_asking_for_a_token = [
        label
        for label, body in by_label.items()
        if body["security"] == [] and token_codes & _codes(body, "401")
    ]
    assert not public_asking_for_a_token
    assert token_codes <= _codes(by_label["POST /v1/sync/push"], "401")


def _codes(operation: dict[str, Any], status: str) -> set[str]:
    return problem_codes(operation["responses"].get(status, {}))
