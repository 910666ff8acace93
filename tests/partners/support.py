"""Organisations with API keys, signed in as `Api` clients."""

from typing import Any

from tests.factories import Api


async def organization(api: Api, kind: str, **overrides: Any) -> dict[str, Any]:
    body = {"name": f"{kind} org", "kind": kind} | overrides
    return await api.created("/v1/organizations", body)


async def key_for(api: Api, organization_id: str, **body: Any) -> dict[str, Any]:
    return await api.created(f"/v1/organizations/{organization_id}/api-keys", body)


async def partner(api: Api, kind: str, **key: Any) -> tuple[dict[str, Any], Api]:
    """A new organisation of `kind` and a client holding one of its keys."""
    org = await organization(api, kind)
    created = await key_for(api, org["id"], **key)
    client = Api(api.client, created["key"], "shipper" if kind == "shipper" else "carrier")
    client.org = org  # type: ignore[attr-defined]
    return org, client


def new_event(shipment_id: str, event_type: str, seq: int, at: str, **extra: Any) -> dict[str, Any]:
    import uuid

    return {
        "event_id": str(uuid.uuid4()),
        "seq": seq,
        "type": event_type,
        "shipment_id": shipment_id,
        "occurred_at": at,
    } | extra
