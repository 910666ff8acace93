"""Proofs of delivery: built from `delivered` events, checked against the shipment's
requirements and geofence, completed as their blobs arrive, read by staff and recipients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.incidents.service import IncidentService, PodIncident
from backend.lib.errors import NotFound
from backend.lib.geo import point_from_db
from backend.live.messages import LiveMessage, announce
from backend.pod.models import Pod
from backend.pod.pins import pin_matches
from backend.pod.repository import PodRepository
from backend.pod.schemas import Delivery, PodRead, RecipientPod
from backend.shipments.models import Shipment
from backend.webhooks.service import WebhookService

DEFAULT_GEOFENCE_M = 150.0


@dataclass(slots=True)
class Assessment:
    """What the server concluded about one delivery."""

    pin_result: str
    missing_requirements: list[str] = field(default_factory=list)
    missing_blobs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


class PodService:
    def __init__(self, session: AsyncSession, *, geofence_m: float = DEFAULT_GEOFENCE_M) -> None:
        self.session = session
        self.repo = PodRepository(session)
        self.geofence_m = geofence_m

    # recording -------------------------------------------------------------------------------

    async def record_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """One POD per fresh `delivered` event, set-wise; incidents for what is wrong with it.

        A delivery that lacks a required proof is still recorded: it happened. Its POD says
        what is missing and dispatch gets an incident to follow up.
        """
        if not deliveries:
            return
        facts = await self.repo.delivery_facts(
            [d.shipment_id for d in deliveries],
            [_point(d) for d in deliveries],
            self.geofence_m,
        )
        named = sorted({h for d in deliveries for h in named_blobs(d)})
        await self.repo.lock_blob_keys(named)
        present = await self.repo.present_blobs(named)
        rows, incidents = [], []
        for delivery, fact in zip(deliveries, facts, strict=True):
            verdict = assess(delivery, fact, present)
            rows.append(_pod_row(delivery, fact, verdict, self.geofence_m))
            incidents += _incidents(delivery, fact, verdict)
        pods = await self.repo.insert_pods(rows)
        _announce(self.session, pods)
        await _completed(self.session, pods)
        await IncidentService(self.session).pod_incidents(incidents)

    async def blob_arrived(self, sha256: str) -> None:
        pods = await self.repo.blob_arrived(sha256)
        _announce(self.session, pods)
        await _completed(self.session, pods)

    # reads -----------------------------------------------------------------------------------

    async def get(self, shipment_id: UUID, principal: Principal) -> PodRead:
        """The shipment's current POD (its latest delivery). Staff only until shipments can be
        handed to partners; everyone else gets the same 404 as for a shipment that is not."""
        if not principal.is_staff or await self.repo.shipment(shipment_id) is None:
            raise NotFound("No such shipment")
        pods = await self.repo.pods_of(shipment_id)
        if not pods:
            raise NotFound("The shipment has no proof of delivery yet", code="no_pod")
        return pod_read(pods[-1])

    async def all_for(self, shipment_id: UUID) -> list[PodRead]:
        return [pod_read(pod) for pod in await self.repo.pods_of(shipment_id)]

    async def recipient_summary(self, shipment_id: UUID) -> RecipientPod | None:
        """For tracking: handoff kind and time, photo hashes only if the shipper allows it
        (`requirements.share_photo`). None when the shipment has no POD."""
        shipment = await self.repo.shipment(shipment_id)
        if shipment is None:
            return None
        return await self._summary(shipment)

    async def summary_by_token(self, token: str) -> RecipientPod:
        shipment = await self.repo.shipment_by_token(token)
        summary = await self._summary(shipment) if shipment else None
        if summary is None:
            raise NotFound("No proof of delivery for this tracking link")
        return summary

    async def shared_photo(self, token: str, sha256: str) -> bool:
        """May the holder of this tracking token see this photo?"""
        summary = await self.summary_by_token(token)
        return sha256 in summary.photo_sha256s

    async def _summary(self, shipment: Shipment) -> RecipientPod | None:
        pods = await self.repo.pods_of(shipment.id)
        if not pods:
            return None
        latest = pods[-1]
        share = bool(shipment.requirements.get("share_photo"))
        photos = [h for h in latest.photo_sha256s if h not in latest.missing_blobs]
        return RecipientPod(
            handoff=latest.handoff,
            delivered_at=latest.effective_at,
            photo_sha256s=photos if share else [],
        )


async def _completed(session: AsyncSession, pods: Sequence[Any]) -> None:
    """`pod.completed` webhooks for the PODs that now have every proof they need."""
    await WebhookService(session).shipment_events(
        [
            (
                pod["shipment_id"],
                "pod.completed",
                {"pod_id": str(pod["id"]), "handoff": pod["handoff"]},
            )
            for pod in pods
            if pod["status"] == "complete"
        ],
        lock=True,
    )


def _announce(session: AsyncSession, pods: Sequence[Any]) -> None:
    """New or changed PODs on the staff live feed (after commit)."""
    announce(
        session,
        (
            LiveMessage(
                type="pod",
                shipment_id=pod["shipment_id"],
                driver_id=pod["driver_id"],
                data={
                    "pod_id": str(pod["id"]),
                    "status": pod["status"],
                    "handoff": pod["handoff"],
                    "flags": msgspec.json.decode(pod["flags"]),
                },
            )
            for pod in pods
        ),
    )


def named_blobs(delivery: Delivery) -> list[str]:
    data = delivery.data
    return [*([data.signature_sha256] if data.signature_sha256 else []), *data.photo_sha256s]


def assess(delivery: Delivery, fact: dict[str, Any], present: set[str]) -> Assessment:
    """Requirements, PIN, geofence and blobs of one delivery; pure."""
    data, required = delivery.data, fact["requirements"]
    verdict = Assessment(pin_result=_pin_result(delivery, fact["pin_hash"], required))
    missing = verdict.missing_requirements
    if required.get("signature") and not data.signature_sha256:
        missing.append("signature")
    if required.get("photo") and not data.photo_sha256s:
        missing.append("photo")
    if required.get("pin") and verdict.pin_result != "correct":
        missing.append("pin")
    if required.get("min_age") and data.age_verified is not True:
        missing.append("age_check")
    verdict.missing_blobs = [h for h in dict.fromkeys(named_blobs(delivery)) if h not in present]
    if fact["inside"] is False:
        verdict.flags.append("outside_geofence")
    if delivery.location is None:
        verdict.flags.append("no_location")
    if verdict.pin_result in ("wrong", "unverifiable"):
        verdict.flags.append(f"{verdict.pin_result}_pin")
    return verdict


def _pin_result(delivery: Delivery, stored_hash: str | None, required: dict[str, Any]) -> str:
    entered = delivery.data.pin
    if not entered:
        return "missing" if required.get("pin") else "not_required"
    if stored_hash is None:
        return "unverifiable" if required.get("pin") else "not_required"
    return "correct" if pin_matches(delivery.shipment_id, entered, stored_hash) else "wrong"


def _point(delivery: Delivery) -> tuple[float, float, float] | None:
    location = delivery.location
    return (location.lon, location.lat, location.accuracy_m or 0.0) if location else None


def _pod_row(
    delivery: Delivery, fact: dict[str, Any], verdict: Assessment, geofence_m: float
) -> tuple[Any, ...]:
    data, location = delivery.data, delivery.location
    encode = msgspec.json.encode
    return (
        delivery.event_id,
        delivery.shipment_id,
        delivery.driver_id,
        delivery.device_id,
        delivery.effective_at,
        data.handoff,
        data.recipient_name,
        data.signature_sha256,
        encode(data.photo_sha256s).decode(),
        verdict.pin_result,
        data.age_verified,
        fact["requirements"].get("min_age"),
        location.lon if location else None,
        location.lat if location else None,
        location.accuracy_m if location else None,
        fact["distance_m"],
        geofence_m + (location.accuracy_m or 0.0) if location else None,
        encode(verdict.missing_blobs).decode(),
        encode(verdict.missing_requirements).decode(),
        encode(verdict.flags).decode(),
    )


def _incidents(delivery: Delivery, fact: dict[str, Any], verdict: Assessment) -> list[PodIncident]:
    base = {"event_id": str(delivery.event_id)}
    found = []
    if "outside_geofence" in verdict.flags:
        found.append(("outside_geofence", base | {"distance_m": round(fact["distance_m"], 1)}))
    if verdict.missing_requirements:
        found.append(("incomplete_pod", base | {"missing": verdict.missing_requirements}))
    if verdict.pin_result == "wrong":
        found.append(("wrong_pin", base))
    return [
        PodIncident(
            kind,
            delivery.shipment_id,
            delivery.driver_id,
            delivery.event_id,
            delivery.effective_at,
            details,
        )
        for kind, details in found
    ]


def pod_read(pod: Pod) -> PodRead:
    return PodRead(
        id=pod.id,
        shipment_id=pod.shipment_id,
        status=pod.status,
        handoff=pod.handoff,
        recipient_name=pod.recipient_name,
        signature_sha256=pod.signature_sha256,
        photo_sha256s=pod.photo_sha256s,
        pin_result=pod.pin_result,
        age_verified=pod.age_verified,
        min_age=pod.min_age,
        driver_id=pod.driver_id,
        device_id=pod.device_id,
        effective_at=pod.effective_at,
        location=point_from_db(pod.location),
        accuracy_m=pod.accuracy_m,
        distance_m=pod.distance_m,
        geofence_m=pod.geofence_m,
        flags=pod.flags,
        missing_blobs=pod.missing_blobs,
        missing_requirements=pod.missing_requirements,
        created_at=pod.created_at,
        updated_at=pod.updated_at,
    )
