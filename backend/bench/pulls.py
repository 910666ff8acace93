"""Pull latency: full snapshots of a driver's manifest, and deltas that carry a few changes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from backend.bench.wire import WireConnection
from backend.simulator.fleet import Fleet
from backend.simulator.http import ApiClient


@dataclass
class PullRun:
    latencies: list[float] = field(default_factory=list)
    changes: list[int] = field(default_factory=list)  # changes per answer
    sizes: list[int] = field(default_factory=list)  # bytes per answer
    errors: list[str] = field(default_factory=list)


async def timed_pulls(
    base_url: str, tokens: list[str], params: list[dict[str, str]], per_client: int
) -> PullRun:
    """One keep-alive connection per client; client i pulls `per_client` times with params[i]."""
    run = PullRun()

    async def client_loop(token: str, query: dict[str, str]) -> None:
        connection = await WireConnection.open(base_url)
        path = "/v1/sync/pull" + (f"?{urlencode(query)}" if query else "")
        head = connection.head("GET", path, {"authorization": f"Bearer {token}"})
        try:
            await connection.request(head)  # warm the connection
            for _ in range(per_client):
                began = time.perf_counter()
                response = await connection.request(head)
                run.latencies.append(time.perf_counter() - began)
                if response.status != 200:
                    run.errors.append(f"{response.status} {response.body[:200]!r}")
                    continue
                run.sizes.append(len(response.body))
                run.changes.append(response.body.count(b'"entity"'))
        finally:
            await connection.close()

    await asyncio.gather(*(client_loop(t, p) for t, p in zip(tokens, params, strict=True)))
    return run


async def snapshot_pulls(base_url: str, tokens: list[str], requests: int, clients: int) -> PullRun:
    chosen = tokens[:clients]
    return await timed_pulls(base_url, chosen, [{}] * len(chosen), requests // len(chosen))


async def prepare_deltas(
    admin: ApiClient, fleet: Fleet, tokens: dict[str, str], clients: int, edits: int = 3
) -> tuple[list[str], list[dict[str, str]]]:
    """Each client's driver gets a cursor, then dispatch edits the notes of `edits` of its
    shipments: pulling with that cursor answers those few changes, however often it is asked.
    Run it before the push load: delivered shipments can no longer be edited."""
    seats = fleet.seats[:clients]
    cursors = []
    for seat in seats:
        driver = ApiClient(admin.http, tokens[seat.device_id])
        cursors.append((await driver.call("GET", "/v1/sync/pull"))["cursor"])
        stops = fleet.stops[fleet.route_of_seat[seat.index]]
        for n, stop in enumerate(stops[-edits:]):
            await admin.call(
                "PATCH", f"/v1/shipments/{stop['shipment_id']}", {"notes": f"bench edit {n}"}
            )
    return [tokens[seat.device_id] for seat in seats], [{"cursor": c} for c in cursors]
