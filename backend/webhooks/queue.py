"""SQL of the delivery workers: claim due deliveries, record what each attempt did."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.session import raw_connection

# An endpoint's due deliveries, oldest first; a shipment's events go to an endpoint one at a
# time, in sequence order (a later one waits while an earlier one is pending).
_DUE_OF_ENDPOINT = """
    SELECT d.id FROM webhook_deliveries d
    WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= $1
      AND (d.lease_until IS NULL OR d.lease_until < $1)
      AND NOT EXISTS (
          SELECT 1 FROM webhook_events ev
          JOIN webhook_events earlier ON earlier.shipment_id = ev.shipment_id
               AND earlier.sequence < ev.sequence
          JOIN webhook_deliveries d2 ON d2.event_id = earlier.id
               AND d2.endpoint_id = d.endpoint_id AND d2.status = 'pending'
          WHERE ev.id = d.event_id)
    ORDER BY d.next_attempt_at, d.id
"""
# Five days of nothing but failures disable an endpoint.
FAILING_LIMIT = timedelta(days=5)


class DeliveryQueue:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def raw(self) -> asyncpg.Connection:
        return await raw_connection(self.session)

    async def claim(
        self,
        now: datetime,
        limit: int,
        *,
        per_endpoint: int,
        busy_endpoints: Sequence[UUID],
        lease: timedelta,
        probe_failing: bool = True,
    ) -> list[asyncpg.Record]:
        """Due deliveries of enabled endpoints, at most `per_endpoint` of each and none of the
        `busy_endpoints` (those this worker has enough in flight to), leased until
        `now + lease` with their attempt counted. Failing endpoints (`probe_failing`) get one
        delivery each and at most an eighth of the claim, so healthy ones are never held up
        by scanning a thousand dead ones. Rows another worker holds are skipped
        (`FOR UPDATE SKIP LOCKED`); a lapsed lease (a dead worker's) makes a row due again."""
        return await (await self.raw()).fetch(
            f"""
            WITH healthy AS (
                SELECT d.id
                -- Every endpoint with work gets its turn, in a random order: one endpoint's
                -- backlog never starves the others.
                FROM (SELECT id FROM webhook_endpoints
                      WHERE enabled AND failing_since IS NULL AND id <> ALL($3::uuid[])
                      ORDER BY random()) e
                CROSS JOIN LATERAL ({_DUE_OF_ENDPOINT} LIMIT $4) d
                LIMIT $2
            ), failing AS (
                -- Failing endpoints, when asked ($6): one probe each, a share of the claim.
                SELECT d.id
                FROM (SELECT id FROM webhook_endpoints
                      WHERE $6 AND enabled AND failing_since IS NOT NULL
                        AND id <> ALL($3::uuid[])
                      ORDER BY random()) e
                CROSS JOIN LATERAL ({_DUE_OF_ENDPOINT} LIMIT 1) d
                LIMIT greatest($2 / 8, 1)
            ), candidates AS (
                SELECT id FROM healthy UNION ALL SELECT id FROM failing
            ), due AS (
                SELECT d.id FROM webhook_deliveries d
                WHERE d.id IN (SELECT id FROM candidates)
                  AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < $1)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE webhook_deliveries d SET lease_until = $1::timestamptz + $5::interval,
                                            attempts = d.attempts + 1
            FROM due, webhook_events ev, webhook_endpoints e
            WHERE d.id = due.id AND ev.id = d.event_id AND e.id = d.endpoint_id
            RETURNING d.id, d.endpoint_id, d.attempts, d.event_id, ev.body, e.url, e.secret,
                      CASE WHEN e.previous_secret_expires_at > $1 THEN e.previous_secret END
                          AS previous_secret
            """,
            now,
            limit,
            list(busy_endpoints),
            per_endpoint,
            lease,
            probe_failing,
        )

    async def record(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(delivery, attempt, new status, started, ms, HTTP status, error, response body,
        next attempt at) per attempt: log it and settle its delivery, unless a later attempt
        of the delivery was claimed meanwhile (a lapsed lease)."""
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        await (await self.raw()).execute(
            """
            WITH r AS (
                SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[],
                                     $5::int[], $6::int[], $7::text[], $8::text[],
                                     $9::timestamptz[])
                    AS r(id, attempt, status, started_at, ms, code, error, body, next_at)
            ), logged AS (
                INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms,
                                              status_code, error, response_body)
                SELECT id, attempt, started_at, ms, code, error, body FROM r
            )
            UPDATE webhook_deliveries d
            SET status = r.status, lease_until = NULL, last_status_code = r.code,
                last_error = r.error, next_attempt_at = COALESCE(r.next_at, d.next_attempt_at),
                delivered_at = CASE WHEN r.status = 'delivered' THEN r.started_at END
            FROM r WHERE d.id = r.id AND d.attempts = r.attempt
            """,
            *[list(column) for column in columns],
        )

    async def hold_endpoints(self, until: Sequence[tuple[UUID, datetime]], now: datetime) -> None:
        """An endpoint that just failed holds its other due deliveries until its retry: a dead
        receiver costs one attempt per retry step, not one per queued event. (Attempts are
        not counted: these were not tried.)"""
        if until:
            await (await self.raw()).execute(
                """
                UPDATE webhook_deliveries d SET next_attempt_at = h.until
                FROM unnest($1::uuid[], $2::timestamptz[]) AS h(endpoint_id, until)
                WHERE d.endpoint_id = h.endpoint_id AND d.status = 'pending'
                  AND d.next_attempt_at <= $3 AND (d.lease_until IS NULL OR d.lease_until < $3)
                """,
                [u[0] for u in until],
                [u[1] for u in until],
                now,
            )

    async def relax_durability(self) -> None:
        """Worker bookkeeping may skip the wait for the WAL flush: a crash loses at most the
        last claims and outcomes, and that only means an event sent again with the same
        `webhook-id` (deliveries are at least once anyway)."""
        await (await self.raw()).execute("SET LOCAL synchronous_commit = off")

    async def endpoints_healthy(self, endpoint_ids: Sequence[UUID]) -> None:
        if endpoint_ids:
            await (await self.raw()).execute(
                "UPDATE webhook_endpoints SET failing_since = NULL"
                " WHERE id = ANY($1::uuid[]) AND failing_since IS NOT NULL",
                list(endpoint_ids),
            )

    async def endpoints_failing(
        self, endpoint_ids: Sequence[UUID], gone: Sequence[UUID], now: datetime
    ) -> list[asyncpg.Record]:
        """Mark endpoints failing since now (unless already); disable those gone (410) and
        those failing for five days. Returns the ones this call disabled."""
        if not endpoint_ids and not gone:
            return []
        connection = await self.raw()
        await connection.execute(
            "UPDATE webhook_endpoints SET failing_since = $2"
            " WHERE id = ANY($1::uuid[]) AND failing_since IS NULL",
            list({*endpoint_ids, *gone}),
            now,
        )
        return await connection.fetch(
            """
            UPDATE webhook_endpoints e
            SET enabled = false, updated_at = $3,
                disabled_reason = CASE WHEN e.id = ANY($2::uuid[]) THEN 'gone' ELSE 'failing' END
            WHERE e.id = ANY($1::uuid[]) AND e.enabled
              AND (e.id = ANY($2::uuid[]) OR e.failing_since <= $3::timestamptz - $4::interval)
            RETURNING e.id, e.organization_id, e.url, e.disabled_reason, e.failing_since
            """,
            list({*endpoint_ids, *gone}),
            list(gone),
            now,
            FAILING_LIMIT,
        )
