"""SQL of proofs of delivery and blobs. Statements cover whole batches (unnest), never a row loop."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
from msgspec.json import decode as json_decode
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.pod.models import Blob, Pod
from backend.shipments.models import Shipment, ShipmentEvent

# Advisory-lock namespace for blob hashes: a POD looking for a blob and that blob's upload take
# turns, so a blob can never slip in between a POD's check and its commit.
BLOB_LOCK_SPACE = 7301

_STATUS = """
    CASE WHEN jsonb_array_length({missing}) > 0 THEN 'pending_blobs'
         WHEN jsonb_array_length({requirements}) > 0 THEN 'incomplete'
         ELSE 'complete' END
"""


# What the live feed shows of a POD.
_HEADLINE = "id, shipment_id, driver_id, status, handoff, flags::text AS flags"


class PodRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        """The asyncpg connection inside this session's transaction (begun if need be)."""
        return await raw_connection(self.session)

    # recording -------------------------------------------------------------------------------

    async def delivery_facts(
        self,
        shipment_ids: list[UUID],
        points: list[tuple[float, float, float] | None],
        geofence_m: float,
    ) -> list[dict[str, Any]]:
        """Per delivery (in order): the shipment's requirements and PIN hash, the distance from
        the reported point to the delivery point and whether it lies within the geofence
        widened by the fix's accuracy (`ST_DWithin` on geography, metres)."""
        rows = await (await self.raw()).fetch(
            """
            WITH f AS (
                SELECT f.i, f.sid, f.accuracy,
                       CASE WHEN f.lon IS NULL THEN NULL
                            ELSE ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)::geography END AS at
                FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::float8[])
                     WITH ORDINALITY AS f(sid, lon, lat, accuracy, i)
            )
            SELECT f.i, s.requirements::text AS requirements, s.pin_hash,
                   ST_Distance(s.location, f.at) AS distance_m,
                   ST_DWithin(s.location, f.at, $5 + COALESCE(f.accuracy, 0)) AS inside
            FROM f JOIN shipments s ON s.id = f.sid
            ORDER BY f.i
            """,
            shipment_ids,
            [p[0] if p else None for p in points],
            [p[1] if p else None for p in points],
            [p[2] if p else None for p in points],
            geofence_m,
        )
        return [dict(row) | {"requirements": json_decode(row["requirements"])} for row in rows]

    async def lock_blob_keys(self, hashes: Sequence[str]) -> None:
        """Transaction advisory locks on these blob hashes, always in the same order."""
        if hashes:
            await (await self.raw()).execute(
                """
                SELECT pg_advisory_xact_lock($1, k)
                FROM (SELECT DISTINCT hashtext(h) AS k FROM unnest($2::text[]) h ORDER BY 1) keys
                """,
                BLOB_LOCK_SPACE,
                list(hashes),
            )

    async def present_blobs(self, hashes: Sequence[str]) -> set[str]:
        if not hashes:
            return set()
        rows = await (await self.raw()).fetch(
            "SELECT sha256 FROM blobs WHERE sha256 = ANY($1::text[])", list(hashes)
        )
        return {row["sha256"] for row in rows}

    async def insert_pods(self, rows: list[tuple[Any, ...]]) -> list[asyncpg.Record]:
        """(id, shipment, driver, device, effective_at, handoff, recipient_name, signature,
        photos json, pin_result, age_verified, min_age, lon, lat, accuracy, distance, geofence,
        missing_blobs json, missing_requirements json, flags json); returns the new PODs'
        headlines."""
        if not rows:
            return []
        columns = list(zip(*rows, strict=True))
        return await (await self.raw()).fetch(
            f"""
            INSERT INTO pods (id, shipment_id, driver_id, device_id, effective_at, handoff,
                              recipient_name, signature_sha256, photo_sha256s, pin_result,
                              age_verified, min_age, location, accuracy_m, distance_m,
                              geofence_m, missing_blobs, missing_requirements, flags, status)
            SELECT id, shipment_id, driver_id, device_id, effective_at, handoff, recipient_name,
                   signature, photos::jsonb, pin_result, age_verified, min_age,
                   CASE WHEN lon IS NULL THEN NULL
                        ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography END,
                   accuracy, distance, geofence, missing::jsonb, requirements::jsonb,
                   flags::jsonb, {
                _STATUS.format(missing="missing::jsonb", requirements="requirements::jsonb")
            }
            FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[],
                        $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                        $11::bool[], $12::int[], $13::float8[], $14::float8[], $15::float8[],
                        $16::float8[], $17::float8[], $18::text[], $19::text[], $20::text[])
                AS p(id, shipment_id, driver_id, device_id, effective_at, handoff,
                     recipient_name, signature, photos, pin_result, age_verified, min_age,
                     lon, lat, accuracy, distance, geofence, missing, requirements, flags)
            ON CONFLICT (id) DO NOTHING
            RETURNING {_HEADLINE}
            """,
            *columns,
        )

    # blobs -----------------------------------------------------------------------------------

    async def blob(self, sha256: str) -> Blob | None:
        return await self.session.get(Blob, sha256)

    async def insert_blob(
        self, sha256: str, content_type: str, size_bytes: int, uploaded_by: UUID | None
    ) -> bool:
        created = await (await self.raw()).fetchval(
            """
            INSERT INTO blobs (sha256, content_type, size_bytes, uploaded_by)
            VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING RETURNING true
            """,
            sha256,
            content_type,
            size_bytes,
            uploaded_by,
        )
        return bool(created)

    async def blob_arrived(self, sha256: str) -> list[asyncpg.Record]:
        """Strike the blob off every POD waiting for it; those with nothing left move on.
        Returns the headlines of the PODs it touched."""
        return await (await self.raw()).fetch(
            f"""
            UPDATE pods SET missing_blobs = missing_blobs - $1::text,
                status = {
                _STATUS.format(
                    missing="(missing_blobs - $1::text)", requirements="missing_requirements"
                )
            },
                updated_at = now()
            WHERE missing_blobs ? $1::text
            RETURNING {_HEADLINE}
            """,
            sha256,
        )

    async def names_courier_document(self, sha256: str) -> bool:
        """Is the blob a courier's personal document (read only through its logged endpoint)?"""
        return bool(
            await (await self.raw()).fetchval(
                "SELECT EXISTS (SELECT 1 FROM courier_documents WHERE blob_sha256 = $1)", sha256
            )
        )

    async def device_delivered_blob(self, device_id: str, sha256: str) -> bool:
        """Does a POD recorded from this device (a partner's: `partner:<org>`) name the blob?"""
        return bool(
            await (await self.raw()).fetchval(
                "SELECT EXISTS (SELECT 1 FROM pods WHERE device_id = $1"
                " AND (signature_sha256 = $2 OR photo_sha256s ? $2))",
                device_id,
                sha256,
            )
        )

    async def driver_delivered_blob(self, driver_id: UUID, sha256: str) -> bool:
        """Does a POD this driver recorded name the blob?"""
        return bool(
            await (await self.raw()).fetchval(
                """
                SELECT EXISTS (
                    SELECT 1 FROM pods WHERE driver_id = $1
                      AND (signature_sha256 = $2 OR photo_sha256s ? $2)
                )
                """,
                driver_id,
                sha256,
            )
        )

    # reads -----------------------------------------------------------------------------------

    async def pods_of(self, shipment_id: UUID) -> Sequence[Pod]:
        """Every POD of the shipment, latest delivery last."""
        query = (
            select(Pod)
            .where(Pod.shipment_id == shipment_id)
            .order_by(Pod.effective_at, Pod.id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(query)).all()

    async def shipment(self, shipment_id: UUID) -> Shipment | None:
        return await self.session.get(Shipment, shipment_id)

    async def shipment_by_token(self, token: str) -> Shipment | None:
        return await self.session.scalar(select(Shipment).where(Shipment.tracking_token == token))

    async def chained_events(self, shipment_id: UUID) -> list[dict[str, Any]]:
        """The shipment's sealed events in chain order, as stored (jsonb decoded)."""
        rows = await (await self.raw()).fetch(
            """
            SELECT id, shipment_id, source, type, actor_id, device_id, seq, occurred_at,
                   effective_at, received_at, data::text AS data, anomalies::text AS anomalies,
                   chain_seq, chain_hash
            FROM shipment_events WHERE shipment_id = $1 AND chain_seq IS NOT NULL
            ORDER BY chain_seq
            """,
            shipment_id,
        )
        return [
            dict(row)
            | {"data": json_decode(row["data"]), "anomalies": json_decode(row["anomalies"])}
            for row in rows
        ]

    async def unsealed_count(self, shipment_id: UUID) -> int:
        query = select(func.count()).where(
            ShipmentEvent.shipment_id == shipment_id, ShipmentEvent.chain_seq.is_(None)
        )
        return int(await self.session.scalar(query) or 0)

    async def blobs(self, hashes: Sequence[str]) -> Sequence[Blob]:
        query = select(Blob).where(Blob.sha256.in_(list(hashes))).order_by(Blob.sha256)
        return (await self.session.scalars(query)).all()
