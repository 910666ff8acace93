"""A client generated from the app's OpenAPI by openapi-python-client (offline, into a temporary
directory) compiles, and a driver uses it against a real API worker: pull the manifest, upload a
photo, push a scan; an error comes back as a typed ProblemDetails with its code."""

from __future__ import annotations

import asyncio
import compileall
import importlib
import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar import Litestar

from tests.factories import Api
from tests.live.servers import api_worker
from tests.pod.support import blob_bytes, sha

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
CONFIG = ROOT / "scripts" / "openapi-python-client.yml"
PACKAGE = "lastmile_client"


@pytest.fixture
def generated(app: Litestar, tmp_path: Path) -> Iterator[ModuleType]:
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(app.openapi_schema.to_schema()))
    output = tmp_path / PACKAGE
    run = subprocess.run(
        [
            *(str(GENERATOR), "generate", "--path", str(schema_file), "--meta", "none"),
            *("--output-path", str(output), "--config", str(CONFIG)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Unable to" not in run.stdout, run.stdout  # a model or endpoint left out
    assert "Endpoint will not be generated" not in run.stdout, run.stdout
    assert compileall.compile_dir(output, quiet=1)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_driver_pulls_uploads_and_pushes_with_the_generated_client(
    generated: ModuleType, api: Api
) -> None:
    hub = await api.hub()
    driver = await api.driver(hub["id"])
    shipment = await api.shipment(hub["id"])
    today = datetime.now(UTC).date().isoformat()
    route = await api.route(driver["id"], hub["id"], [shipment["id"]], date=today)
    await api.publish_route(route["id"])
    driver_api = await api.as_driver(driver, "client-device")
    token = driver_api.headers["Authorization"].removeprefix("Bearer ")

    models, types = module("models"), module("types")
    pull, push = module("api.sync.sync_pull"), module("api.sync.sync_push")
    upload = module("api.proof_of_delivery.blob_upload")

    with api_worker() as server:
        client = generated.AuthenticatedClient(
            base_url=server.base_url, token=token, raise_on_unexpected_status=True
        )
        async with client:
            page = (await pull.asyncio_detailed(client=client)).parsed
            assert isinstance(page, models.PullPage) and page.snapshot
            by_entity = {type(change).__name__: change for change in page.changes}
            assert by_entity["ShipmentChange"].data.tracking_number == shipment["tracking_number"]
            assert str(by_entity["RouteChange"].id) == route["id"]

            photo = blob_bytes("image/jpeg")
            # The generated upload hands httpx a file object, which only its sync client sends.
            stored = await asyncio.to_thread(
                upload.sync_detailed,
                sha(photo),
                client=client,
                body=types.File(payload=io.BytesIO(photo)),
            )
            assert stored.status_code == 201, stored.content
            assert stored.parsed.sha256 == sha(photo)

            event = models.DeviceEvent(
                event_id=uuid.uuid4(),
                seq=1,
                type_=models.DeviceEventType.SCAN_LOADED,
                occurred_at=datetime.now(UTC),
                shipment_id=uuid.UUID(shipment["id"]),
            )
            batch = models.PushBatch(
                device_id="client-device", batch_id=uuid.uuid4(), events=[event]
            )
            result = (await push.asyncio_detailed(client=client, body=batch)).parsed
            assert isinstance(result, models.PushResponse), result
            assert [r.status.value for r in result.results] == ["accepted"]
            assert result.ack_seq == 1

            elsewhere = models.PushBatch(device_id="other-device", batch_id=uuid.uuid4(), events=[])
            refused = await push.asyncio_detailed(client=client, body=elsewhere)
            assert refused.status_code == 422
            assert isinstance(refused.parsed, models.ProblemDetails)
            assert refused.parsed.code == "device_mismatch"
