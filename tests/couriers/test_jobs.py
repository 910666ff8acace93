"""The scheduled jobs: suspension when a required document expires (a valid replacement
reactivates), and deletion of closed applications' documents after the retention."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.couriers.support import active_courier, sign_in_courier, staff_post, submitted


def stored(blob_dir: Path, sha256: str) -> bool:
    return (blob_dir / sha256[:2] / sha256[2:4] / sha256).is_file()


async def test_an_expired_licence_suspends_and_a_replacement_reactivates(api, db, jobs) -> None:
    hub = await api.hub()
    soon = (date.today() + timedelta(days=2)).isoformat()
    applicant, read = await active_courier(api, db, hub["id"], vehicle={"kind": "van"})
    # The licence on file expires soon (a replacement uploaded while active, then verified).
    licence = await applicant.document("drivers_license", expires_on=soon)
    await staff_post(api, f"{applicant.path}/documents/{licence['id']}/verify")
    assert await jobs.suspend_expired_couriers(datetime.now(UTC)) == []
    later = datetime.now(UTC) + timedelta(days=5)
    suspended = await jobs.suspend_expired_couriers(later)
    assert [str(s) for s in suspended] == [applicant.id]
    after = (await api.get(applicant.path)).json()
    assert after["status"] == "suspended"
    last = after["transitions"][-1]
    assert (last["actor_kind"], last["reason"]) == ("system", f"drivers_license expired on {soon}")
    assert (await api.get(f"/v1/drivers/{read['driver_id']}")).json()["active"] is False
    # Running again changes nothing more.
    assert await jobs.suspend_expired_couriers(later) == []
    # A valid replacement brings the courier back.
    await applicant.document("drivers_license")
    back = (await applicant.get(applicant.path)).json()
    assert back["status"] == "active"
    assert back["transitions"][-1]["actor_kind"] == "applicant"
    assert back["transitions"][-1]["reason"] == "valid drivers_license uploaded"
    await sign_in_courier(api, applicant)


async def test_a_document_a_bike_does_not_need_never_suspends(api, db, jobs) -> None:
    hub = await api.hub()
    applicant, _ = await active_courier(api, db, hub["id"])  # a bike
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    await applicant.document("drivers_license", expires_on=tomorrow)
    later = datetime.now(UTC) + timedelta(days=5)
    assert await jobs.suspend_expired_couriers(later) == []


async def test_a_staff_suspension_is_not_lifted_by_an_upload(api, db) -> None:
    hub = await api.hub()
    applicant, _ = await active_courier(api, db, hub["id"])
    await staff_post(api, f"{applicant.path}/suspend", {"reason": "complaints"})
    await applicant.document("id_card")
    assert (await api.get(applicant.path)).json()["status"] == "suspended"


async def test_reactivation_by_staff_refuses_an_expired_required_document(api, db, jobs) -> None:
    hub = await api.hub()
    applicant, _ = await active_courier(api, db, hub["id"])
    soon = (date.today() + timedelta(days=1)).isoformat()
    await applicant.document("id_card", expires_on=soon)
    await jobs.suspend_expired_couriers(datetime.now(UTC) + timedelta(days=3))
    assert (await api.get(applicant.path)).json()["status"] == "suspended"
    # Staff cannot lift it while the document is still the expired one, seen from that day.
    await db.execute(
        "UPDATE courier_documents SET expires_on = $1 WHERE application_id = $2 AND kind = 'id_card'"
        " AND status <> 'superseded'",
        date.today() - timedelta(days=1),
        applicant.id,
    )
    refused = await api.post(f"{applicant.path}/reactivate")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "documents.id_card"


async def test_closed_applications_lose_their_documents_after_the_retention(
    api, client, db, jobs, blob_dir
) -> None:
    hub = await api.hub()
    rejected = await submitted(client, db)
    await staff_post(api, f"{rejected.path}/reject", {"reason": "no right to work"})
    offboarded, _ = await active_courier(api, db, hub["id"])
    await staff_post(api, f"{offboarded.path}/offboard", {"reason": "moved away"})
    kept, _ = await active_courier(api, db, hub["id"])
    hashes = {
        a.id: [d["blob_sha256"] for d in (await api.get(a.path)).json()["documents"]]
        for a in (rejected, offboarded, kept)
    }
    assert all(stored(blob_dir, sha) for shas in hashes.values() for sha in shas)
    # Within the retention nothing goes.
    assert await jobs.purge_courier_documents(datetime.now(UTC) + timedelta(days=89)) == 0
    assert await jobs.purge_courier_documents(datetime.now(UTC) + timedelta(days=91)) == 2
    for applicant in (rejected, offboarded):
        read = (await api.get(applicant.path)).json()
        assert read["documents"] == []
        assert read["transitions"], "the decision record stays"
        assert all(not stored(blob_dir, sha) for sha in hashes[applicant.id])
        gone = await db.fetchval(
            "SELECT count(*) FROM blobs WHERE sha256 = ANY($1::text[])", hashes[applicant.id]
        )
        assert gone == 0
        purged = await db.fetchval(
            "SELECT documents_purged_at FROM courier_applications WHERE id = $1", applicant.id
        )
        assert purged is not None
    assert len((await api.get(kept.path)).json()["documents"]) == 2
    assert all(stored(blob_dir, sha) for sha in hashes[kept.id])
    # Nothing left to do the next time.
    assert await jobs.purge_courier_documents(datetime.now(UTC) + timedelta(days=91)) == 0


async def test_the_retention_is_configurable(db, blob_dir) -> None:
    from backend.config import Settings
    from backend.couriers.rules import rules_from
    from tests.conftest import make_settings

    settings: Settings = make_settings(courier_document_retention_days=7)
    assert rules_from(settings).document_retention_days == 7
