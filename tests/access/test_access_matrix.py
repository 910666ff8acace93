"""Every operation for every caller, against a real API worker on loopback: each gets exactly what
the matrix (tests/access/matrix.py) says. An operation without a row fails here."""

from __future__ import annotations

import inspect
import re

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from backend.bench.server import Server
from tests.access.matrix import CALLERS, FORBIDDEN, HIDDEN, MATRIX, OK, UNAUTH, Row
from tests.access.world import Caller, World, build_world
from tests.live.servers import api_worker
from tests.openapi.checks import operations as openapi_operations
from tests.openapi.checks import problem_codes

HTTP_METHODS = ("get", "put", "post", "patch", "delete")
DENIED = "401 or 403"  # a refused WebSocket handshake does not tell them apart


def operations(app: Litestar) -> set[str]:
    """Every operation of the OpenAPI, and the routes it leaves out on purpose (HTML pages,
    WebSockets); the API documentation itself (/schema) is public and not listed."""
    found = {
        f"{method.upper()} {path}"
        for path, item in (app.openapi_schema.paths or {}).items()
        for method in HTTP_METHODS
        if getattr(item, method) is not None
    }
    for route in app.routes:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        if path.startswith("/schema"):
            continue
        if isinstance(route, WebSocketRoute):
            found.add(f"WS {path}")
        elif isinstance(route, HTTPRoute):
            for method, (handler, _) in route.route_handler_map.items():
                if method not in ("OPTIONS", "HEAD") and not handler.resolve_include_in_schema():
                    found.add(f"{method} {path}")
    return found


def test_every_operation_has_a_row_for_every_caller(app: Litestar) -> None:
    # A row may add a query to its operation (`WS /v1/live?types=offer`): another view of it.
    covered = {op.split("?", 1)[0] for op in MATRIX}
    missing = sorted(operations(app) - covered)
    assert not missing, "\n".join(
        f"{op} has no row in the access matrix: add `{op!r}: Row(<profile>),` to MATRIX in "
        "tests/access/matrix.py, with the profile saying what each caller gets"
        for op in missing
    )
    stale = sorted(covered - operations(app))
    assert not stale, f"rows for operations the app does not have: {stale}"
    for op, row in MATRIX.items():
        assert set(row.access) == set(CALLERS), (
            f"{op}: no outcome for {set(CALLERS) - set(row.access)}"
        )


async def test_every_caller_gets_what_the_matrix_says(api, app: Litestar) -> None:
    """…and every refusal is one the OpenAPI documents: its status, and its `code` for it."""
    world = await build_world(api)
    documented = documented_errors(app.openapi_schema.to_schema())
    failures: list[str] = []
    # Every caller applies as a courier from one address: more than the hourly limit per address.
    # Fourteen callers also post instructions for one tracking token: more than its limit.
    limits = {
        "LASTMILE_COURIER_APPLICATIONS_PER_HOUR": "1000",
        "LASTMILE_RATE_LIMIT_INSTRUCTIONS": "off",
    }
    with api_worker(extra_env=limits) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            for op, row in MATRIX.items():
                # Refusals first: they must change nothing the allowed calls rely on.
                for name in sorted(CALLERS, key=lambda name: row.access[name] == OK):
                    caller, expected = world.callers[name], row.access[name]
                    got = await attempt(http, server, op, row, world, caller, documented)
                    if got != expected and not (got == DENIED and expected in (UNAUTH, FORBIDDEN)):
                        failures.append(f"{op} as {name}: expected {expected}, got {got}")
    assert not failures, "\n".join(failures)


async def attempt(
    http: httpx.AsyncClient,
    server: Server,
    op: str,
    row: Row,
    world: World,
    caller: Caller,
    documented: dict[str, dict[int, set[str]]],
) -> str:
    method, template = op.split(" ", 1)
    path = re.sub(r"\{(\w+)\}", lambda m: _value(m.group(1), row, world, caller), template)
    if method == "WS":
        return await _websocket(server, path, caller)
    headers = dict(caller.headers)
    body = row.body(world, caller) if row.body else None
    if inspect.isawaitable(body):
        body = await body
    kwargs: dict = {"params": row.query} if row.query else {}
    if row.form:
        kwargs["data"] = body
    elif isinstance(body, bytes):
        kwargs["content"] = body
        headers["content-type"] = row.content_type or "application/octet-stream"
    elif body is not None:
        kwargs["json"] = body
    # Streamed: the answer's status is known without reading an endless SSE body.
    async with http.stream(method, path, headers=headers, **kwargs) as response:
        outcome = _outcome(response.status_code, row)
        if outcome in (UNAUTH, FORBIDDEN, HIDDEN) and not path.startswith("/t/"):
            kind = response.headers.get("content-type", "")
            if not kind.startswith("application/problem+json"):
                return f"{response.status_code} as {kind}, not problem+json"
        if response.status_code >= 400 and (codes := documented.get(op.split("?", 1)[0])):
            await response.aread()
            code = response.json().get("code")
            if code not in codes.get(response.status_code, set()):
                return f"{response.status_code} {code}, which the OpenAPI does not document"
        return outcome


def documented_errors(schema: dict) -> dict[str, dict[int, set[str]]]:
    """Per operation, the problem codes the OpenAPI documents for each status."""
    return {
        op.label: {
            int(status): problem_codes(response)
            for status, response in op.body["responses"].items()
        }
        for op in openapi_operations(schema)
    }


def _value(param: str, row: Row, world: World, caller: Caller) -> str:
    key = row.at.get(param, "open" if param == "token" else param)
    if param == "token":
        return caller.tokens[key]
    return caller.ids.get(key, world.ids[key])


def _outcome(status: int, row: Row) -> str:
    if status in (401, 403, 404):
        return str(status)
    if status < 400 or ((row.once or row.refused_by_state) and status == 409):
        return OK
    return f"unexpected {status}"


async def _websocket(server: Server, path: str, caller: Caller) -> str:
    url = server.base_url.replace("http://", "ws://") + path
    try:
        async with connect(url, additional_headers=caller.headers, open_timeout=10):
            return OK
    except InvalidStatus as exc:
        status = exc.response.status_code
        return DENIED if status in (401, 403) else f"unexpected {status}"
