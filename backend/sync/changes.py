"""The per-driver manifest change log that incremental pulls read.

Every writer that changes what a driver sees calls `record`/`record_many` in its own
transaction. The driver's version is bumped with an upsert on `driver_sync`, which row-locks it
until commit: writers for one driver take turns, so versions become visible in order and a
cursor (a version) never skips a change that commits late. Pull reads the entities' current data,
so one row per (entity, id, op) is all the log keeps.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.manifests.repository import DRIVER_VISIBLE_STATUSES

ChangeSpec = tuple[str, UUID, str]  # (entity: route|stop|shipment, id, op: upsert|remove)


class ManifestChangeLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def record(self, driver_id: UUID, changes: Iterable[ChangeSpec]) -> None:
        await self.record_many({driver_id: list(changes)})

    async def record_many(self, per_driver: Mapping[UUID, Iterable[ChangeSpec]]) -> None:
        per_driver = {d: list(c) for d, c in per_driver.items() if c}
        if not per_driver:
            return
        connection = await self._raw()
        # Lock driver rows in id order so concurrent writers never deadlock.
        versions = await connection.fetch(
            """
            INSERT INTO driver_sync (driver_id, version)
            SELECT d, 1 FROM unnest($1::uuid[]) AS d ORDER BY d
            ON CONFLICT (driver_id) DO UPDATE SET version = driver_sync.version + 1
            RETURNING driver_id, version
            """,
            sorted(per_driver),
        )
        version_of = {row["driver_id"]: row["version"] for row in versions}
        rows = [
            (driver_id, version_of[driver_id], entity, entity_id, op)
            for driver_id, changes in per_driver.items()
            for entity, entity_id, op in dict.fromkeys(changes)
        ]
        columns = [list(column) for column in zip(*rows, strict=True)]
        await connection.execute(
            """
            INSERT INTO manifest_changes (driver_id, version, entity, entity_id, op)
            SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::uuid[], $5::text[])
            """,
            *columns,
        )

    async def shipments_changed(self, shipment_ids: Iterable[UUID]) -> None:
        """Tell every driver holding these shipments (on a published route) to refresh them."""
        holders = await (await self._raw()).fetch(
            """
            SELECT r.driver_id, st.shipment_id FROM stops st JOIN routes r ON r.id = st.route_id
            WHERE st.shipment_id = ANY($1::uuid[]) AND st.active AND r.status = ANY($2::text[])
            """,
            list(shipment_ids),
            list(DRIVER_VISIBLE_STATUSES),
        )
        per_driver: dict[UUID, list[ChangeSpec]] = defaultdict(list)
        for row in holders:
            per_driver[row["driver_id"]].append(("shipment", row["shipment_id"], "upsert"))
        await self.record_many(per_driver)

    async def prune(self, older_than: datetime) -> int:
        """Drop changes past retention; cursors at or below `pruned_version` must reset."""
        return await (await self._raw()).fetchval(
            """
            WITH gone AS (
                DELETE FROM manifest_changes WHERE created_at < $1 RETURNING driver_id, version
            ), highest AS (
                SELECT driver_id, max(version) AS version FROM gone GROUP BY driver_id
            ), marked AS (
                UPDATE driver_sync d SET pruned_version = GREATEST(d.pruned_version, h.version)
                FROM highest h WHERE d.driver_id = h.driver_id
            )
            SELECT count(*) FROM gone
            """,
            older_than,
        )
