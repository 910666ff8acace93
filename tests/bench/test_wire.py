"""The bench's load client against a real uvicorn worker: requests with and without bodies,
one after the other on one keep-alive connection."""

import msgspec

from backend.bench.wire import WireConnection
from tests.live.servers import api_worker


async def test_requests_share_one_keep_alive_connection() -> None:
    with api_worker() as server:
        connection = await WireConnection.open(server.base_url)
        try:
            health = connection.head("GET", "/healthz", {})
            first = await connection.request(health)
            push = connection.head("POST", "/v1/sync/push", {"content-type": "application/json"})
            refused = await connection.request(push, b'{"device_id": "d", "events": []}')
            again = await connection.request(health)
        finally:
            await connection.close()
    assert (first.status, again.status) == (200, 200)
    assert first.body == again.body
    assert refused.status == 401
    assert msgspec.json.decode(refused.body)["status"] == 401
