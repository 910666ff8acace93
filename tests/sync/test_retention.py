"""Retention of the manifest change log: pruned changes make older cursors reset."""

from backend.system.jobs import PeriodicJobs
from tests.factories import Api
from tests.sync.factories import Handheld, fleet


async def _pull_from(device: Handheld, cursor: str) -> dict:
    response = await device.api.get("/v1/sync/pull", params={"cursor": cursor})
    assert response.status_code == 200, response.text
    return response.json()


async def test_pruned_changes_reset_older_cursors_and_recent_cursors_carry_on(
    api: Api, jobs: PeriodicJobs, db
) -> None:
    f = await fleet(api, per_route=2)
    device = f.handhelds[0]
    first, second = (s["id"] for s in f.shipments[0])
    await device.pull()
    old_cursor = device.cursor
    await api.patch(f"/v1/shipments/{first}", {"notes": "Back door"})
    await db.execute("UPDATE manifest_changes SET created_at = now() - interval '15 days'")
    await device.pull()
    recent_cursor = device.cursor
    await api.patch(f"/v1/shipments/{second}", {"notes": "Ring twice"})
    await db.execute(
        "UPDATE manifest_changes SET created_at = now() - interval '13 days'"
        " WHERE created_at > now() - interval '1 day'"
    )

    expired = await db.fetchval(
        "SELECT count(*) FROM manifest_changes WHERE created_at < now() - interval '14 days'"
    )

    assert await jobs.prune_sync_changes() == expired > 0  # default retention: 14 days
    assert await db.fetchval("SELECT count(*) FROM manifest_changes") == 1
    old = await _pull_from(device, old_cursor)
    assert old["reset_required"] is True
    assert old["changes"] == []
    recent = await _pull_from(device, recent_cursor)
    assert recent["reset_required"] is False
    assert [(c["entity"], c["id"], c["op"]) for c in recent["changes"]] == [
        ("shipment", second, "upsert")
    ]
    assert recent["changes"][0]["data"]["notes"] == "Ring twice"
    # A device told to reset pulls a snapshot and carries on from there.
    device.cursor = old_cursor
    await device.pull()
    assert device.local == await device.snapshot()


async def test_nothing_within_retention_is_pruned(api: Api, jobs: PeriodicJobs, db) -> None:
    f = await fleet(api, per_route=1)
    device = f.handhelds[0]
    await device.pull()
    cursor = device.cursor
    await api.patch(f"/v1/shipments/{f.shipments[0][0]['id']}", {"notes": "Gate code 42"})
    before = await db.fetchval("SELECT count(*) FROM manifest_changes")
    assert await jobs.prune_sync_changes() == 0
    assert await db.fetchval("SELECT count(*) FROM manifest_changes") == before
    page = await _pull_from(device, cursor)
    assert page["reset_required"] is False
    assert len(page["changes"]) == 1
