"""The per-driver manifest change log that incremental pulls read.

Every writer that changes what a driver sees calls `record`/`record_many` in its own
transaction. The driver's version is bumped with an upsert on `driver_sync`, which row-locks it
until commit: writers for one driver take turns, so versions become visible in order and a
cursor (a version) never skips a change that commits late. Pull reads the entities' current data,
so one row per (entity, id, op) is all the log keeps.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection
from backend.manifests.repository import DRIVER_VISIBLE_STATUSES

ChangeSpec = tuple[str, UUID, str]  # (entity: route|stop|shipment, id, op: upsert|remove)

# Follows a `changes (driver_id, entity, entity_id, op, ord)` CTE: bumps each driver's version
# once (driver rows locked in id order, so concurrent writers never deadlock) and logs the
# changes under it in `ord` order, in the same statement.
_BUMP_AND_LOG = """
    versions AS (
        INSERT INTO driver_sync (driver_id, version)
        SELECT DISTINCT driver_id, 1 FROM changes ORDER BY driver_id
        ON CONFLICT (driver_id) DO UPDATE SET version = driver_sync.version + 1
        RETURNING driver_id, version
    )
    INSERT INTO manifest_changes (driver_id, version, entity, entity_id, op)
    SELECT c.driver_id, v.version, c.entity, c.entity_id, c.op
    FROM changes c JOIN versions v USING (driver_id)
    ORDER BY c.ord
"""


class ManifestChangeLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def record(self, driver_id: UUID, changes: Iterable[ChangeSpec]) -> None:
        await self.record_many({driver_id: list(changes)})

    async def record_many(self, per_driver: Mapping[UUID, Iterable[ChangeSpec]]) -> None:
        rows = [
            (driver_id, entity, entity_id, op)
            for driver_id, changes in per_driver.items()
            for entity, entity_id, op in dict.fromkeys(changes)
        ]
        if not rows:
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        await (await self._raw()).execute(
            f"""
            WITH changes AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[])
                    WITH ORDINALITY AS c(driver_id, entity, entity_id, op, ord)
            ), {_BUMP_AND_LOG}
            """,
            *columns,
        )

    async def shipments_changed(self, shipment_ids: Iterable[UUID]) -> None:
        """Tell every driver holding these shipments (on a published route) to refresh them.
        One statement: find the holders, bump their versions, log the changes."""
        await (await self._raw()).execute(
            f"""
            WITH changes AS (
                SELECT DISTINCT r.driver_id, 'shipment' AS entity, st.shipment_id AS entity_id,
                       'upsert' AS op, 1 AS ord
                FROM stops st JOIN routes r ON r.id = st.route_id
                WHERE st.shipment_id = ANY($1::uuid[]) AND st.active
                  AND r.status = ANY($2::text[])
            ), {_BUMP_AND_LOG}
            """,
            list(shipment_ids),
            list(DRIVER_VISIBLE_STATUSES),
        )

    async def prune(self, older_than: datetime) -> int:
        """Drop changes past retention; cursors below `pruned_version` must reset."""
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
