"""Request and response bodies as they look on the wire, shown in the OpenAPI beside their
schemas (handlers name them with `examples(...)`); tests/openapi validates each against its
schema. One delivery story runs through them: a driver's handheld pulls its manifest, uploads a
photo and pushes the delivery."""

HUB = "0192f1e4-7a00-7000-8000-000000000001"
DRIVER = "0192f1e4-7a00-7000-8000-000000000002"
ROUTE = "0192f1e4-7a00-7000-8000-000000000003"
STOP = "0192f1e4-7a00-7000-8000-000000000004"
SHIPMENT = "0192f1e4-7a00-7000-8000-000000000005"
PHOTO_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
NOW = "2026-12-01T09:30:00Z"

TOKEN_REQUEST = {"email": "ana@example.com", "password": "correct horse", "device_id": "hh-0042"}
TOKEN_RESPONSE = {
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
    "expires_in": 900,
    "role": "driver",
    "refresh_token": "rt_3mX9qK2vLw8Zp0aB",
    "refresh_expires_in": 2592000,
    "token_type": "bearer",
}

SHIPMENT_CREATE = {
    "hub_id": HUB,
    "reference": "ORDER-10023",
    "recipient": {"name": "Joana Silva", "phone": "+351912345678"},
    "address": {
        "line1": "Rua Augusta 24",
        "city": "Lisboa",
        "postal_code": "1100-053",
        "country": "PT",
    },
    "location": {"type": "Point", "coordinates": [-9.1366, 38.7103]},
    "parcels": [{"barcode": "LM000123456PT", "weight_kg": 1.2}],
    "window": {"start": "2026-12-01T14:00:00Z", "end": "2026-12-01T16:00:00Z"},
    "service_level": "standard",
    "requirements": {"photo": True},
}

PULL_SNAPSHOT = {
    "changes": [
        {
            "entity": "route",
            "op": "upsert",
            "id": ROUTE,
            "data": {
                "driver_id": DRIVER,
                "hub_id": HUB,
                "date": "2026-12-01",
                "status": "published",
                "published_at": "2026-12-01T06:00:00Z",
            },
        },
        {
            "entity": "stop",
            "op": "upsert",
            "id": STOP,
            "data": {"route_id": ROUTE, "shipment_id": SHIPMENT, "sequence": 1},
        },
        {
            "entity": "shipment",
            "op": "upsert",
            "id": SHIPMENT,
            "data": {
                "tracking_number": "LM7Q2K9X",
                "reference": "ORDER-10023",
                "status": "out_for_delivery",
                "recipient": {"name": "Joana Silva", "phone": "+351912345678"},
                "address": SHIPMENT_CREATE["address"],
                "location": SHIPMENT_CREATE["location"],
                "window": SHIPMENT_CREATE["window"],
                "service_level": "standard",
                "requirements": {"photo": True},
                "notes": None,
                "barcodes": ["LM000123456PT"],
                "recipient_instruction": None,
            },
        },
    ],
    "cursor": "AQAAAAAAAAAHAAAAAAAAAAM",
    "has_more": False,
    "reset_required": False,
    "snapshot": True,
    "server_time": NOW,
}

BLOB_STORED = {
    "sha256": PHOTO_SHA256,
    "content_type": "image/jpeg",
    "size_bytes": 48213,
    "created": True,
}

PUSH_REQUEST = {
    "device_id": "hh-0042",
    "batch_id": "0192f1e4-7a00-7000-8000-0000000000b1",
    "events": [
        {
            "event_id": "0192f1e4-7a00-7000-8000-0000000000e1",
            "seq": 41,
            "type": "arrived",
            "stop_id": STOP,
            "occurred_at": "2026-12-01T14:21:07Z",
            "clock": {
                "boot_id": "b-77",
                "mono_ms": 18450210,
                "anchor": {
                    "boot_id": "b-77",
                    "mono_ms": 12000000,
                    "server_time": "2026-12-01T12:33:37Z",
                },
            },
            "location": {"lon": -9.13655, "lat": 38.71034, "accuracy_m": 8},
        },
        {
            "event_id": "0192f1e4-7a00-7000-8000-0000000000e2",
            "seq": 42,
            "type": "delivered",
            "shipment_id": SHIPMENT,
            "occurred_at": "2026-12-01T14:23:40Z",
            "location": {"lon": -9.13659, "lat": 38.71031, "accuracy_m": 6},
            "data": {
                "handoff": "recipient",
                "recipient_name": "J. Silva",
                "photo_sha256s": [PHOTO_SHA256],
            },
        },
    ],
}

PUSH_RESPONSE = {
    "results": [
        {
            "event_id": "0192f1e4-7a00-7000-8000-0000000000e1",
            "status": "accepted",
            "shipment": {"id": SHIPMENT, "status": "out_for_delivery"},
        },
        {
            "event_id": "0192f1e4-7a00-7000-8000-0000000000e2",
            "status": "accepted",
            "shipment": {"id": SHIPMENT, "status": "delivered"},
        },
    ],
    "ack_seq": 42,
    "server_time": "2026-12-01T14:25:02Z",
}
