"""The one OpenAPIConfig: info, tags, security schemes, operation ids, the pages."""

from __future__ import annotations

import re
from typing import Any

from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, Contact, License, Tag

from backend.lib.openapi.assets import swagger_plugin
from backend.lib.openapi.security import SECURITY_SCHEMES

DESCRIPTION = """\
The backend last-mile delivery runs on: manifests, offline sync, proof of delivery, live
visibility, partners and couriers.

- JSON with snake_case fields; times RFC 3339 in UTC; ids UUIDs; geometry GeoJSON (`[lon, lat]`).
- Errors are RFC 9457 `application/problem+json` (`ProblemDetails`): branch on `code`; each
  operation lists the statuses and codes it can answer.
- Lists take `?limit=&cursor=` and answer `{items, next_cursor}`.
- POSTs that create things accept `Idempotency-Key`.
- Credentials: `Authorization: Bearer <token>`, a signed token from `POST /v1/auth/token` or an
  organisation's API key (`lmk_…`).

The guide to this document and to generating a client: docs/api.md.
"""

TAGS: dict[str, str] = {
    "system": "Liveness and readiness of a worker and its database.",
    "auth": "Sign-in, tokens (issue, refresh, revoke), passwords, and user accounts.",
    "network": "Hubs, delivery zones (polygons) and pickup points.",
    "drivers": "Drivers, their planning details, and the devices bound to them.",
    "shipments": "Shipments: create (one or in bulk), find, change, cancel, and their event log.",
    "routes": "Routes and their ordered stops: draft, publish, reassign.",
    "sync": "The handheld's offline protocol: push captured events, pull manifest changes "
    "(docs/sync-protocol.md).",
    "proof of delivery": "Photos and signatures as content-addressed blobs, PODs and evidence "
    "bundles.",
    "tracking": "Driver positions and ETAs, and the recipient's tracking through an unguessable "
    "token (no sign-in).",
    "recipients": "The recipient's self-service: reschedule, safe drop, pickup point.",
    "live": "Real-time feeds for dispatch (WebSocket) and recipients (SSE).",
    "notifications": "Messages sent to recipients, as recorded.",
    "couriers": "Crowdsourced couriers: applications, documents, checks, review, availability.",
    "offers": "Work offered to couriers: the first to accept wins.",
    "partners": "Organisations (shippers, partner carriers), their API keys, handovers and "
    "status events.",
    "webhooks": "Outbound webhooks (Standard Webhooks): endpoints, deliveries, attempts, replay.",
    "planning": "Route planning with a VRP solver; plans are solved in the worker.",
    "disruptions": "Vehicle breakdowns, hub closures, no-shows: recovery plans that move the "
    "remaining work.",
    "kpis": "Delivery KPIs by day, hub, zone, driver, partner; targets per hub.",
    "incidents": "Exceptions to triage: detection rules per hub, the queue (acknowledge, assign, "
    "comment, resolve, reopen), playbooks with one-click actions, after-action reviews.",
    "console": "What the dispatch console at /console reads: the day's board of routes and stops.",
}


def operation_id(
    handler: HTTPRouteHandler, method: HttpMethod | str, path: list[Any] | tuple[Any, ...]
) -> str:
    """`<controller>_<handler>`: `ShipmentController.list_shipments` → `shipment_list_shipments`.
    Independent of path and order, so ids stay put when routes move; a handler serving several
    methods gets the method appended."""
    owner, _, name = handler.fn.__qualname__.rpartition(".")
    owner = owner.split(".")[-1].removesuffix("Controller") or handler.fn.__module__.split(".")[1]
    words = re.sub(r"(?<!^)(?=[A-Z])", "_", owner).lower()
    operation = f"{words}_{name}"
    if len(handler.http_methods) > 1:
        operation += f"_{str(method).lower()}"
    return operation


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Lastmile API",
        version=version,
        description=DESCRIPTION,
        contact=Contact(name="Lastmile", url="https://lastmile.dev"),
        license=License(name="Proprietary", identifier="LicenseRef-Proprietary"),
        tags=[Tag(name=name, description=text) for name, text in TAGS.items()],
        components=Components(security_schemes=dict(SECURITY_SCHEMES)),  # type: ignore[arg-type]
        operation_id_creator=operation_id,
        use_handler_docstrings=True,
        path="/schema",
        render_plugins=[swagger_plugin()],
    )
