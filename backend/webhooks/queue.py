"""SQL of the delivery workers: claim due deliveries, record what each attempt did."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


@dataclass(slots=True)
class Outcomes:
    """A batch of finished attempts, column by column as `record` sends them."""

    delivery_ids: list[UUID] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # the delivery's new status
    started_at: list[datetime] = field(default_factory=list)
    duration_ms: list[int] = field(default_factory=list)
    status_codes: list[int | None] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    response_bodies: list[str | None] = field(default_factory=list)
    next_attempt_at: list[datetime | None] = field(default_factory=list)
    healthy: set[UUID] = field(default_factory=set)  # endpoints that answered 2xx


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
            ), due AS (
                -- `= ANY(ARRAY(...))`: the few candidates are looked up by primary key, never
                -- by a hash join over the whole table.
                SELECT d.id FROM webhook_deliveries d
                WHERE d.id = ANY(ARRAY(SELECT id FROM healthy UNION ALL SELECT id FROM failing))
                  AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < $1)
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE webhook_deliveries d SET lease_until = $1::timestamptz + $5::interval,
                                                attempts = d.attempts + 1
                WHERE d.id = ANY(ARRAY(SELECT id FROM due))
                RETURNING d.id, d.endpoint_id, d.attempts, d.event_id
            )
            SELECT c.id, c.endpoint_id, c.attempts, c.event_id, ev.body, e.url, e.secret,
                   CASE WHEN e.previous_secret_expires_at > $1 THEN e.previous_secret END
                       AS previous_secret
            FROM claimed c
            JOIN webhook_events ev ON ev.id = c.event_id
            JOIN webhook_endpoints e ON e.id = c.endpoint_id
            """,
            now,
            limit,
            list(busy_endpoints),
            per_endpoint,
            lease,
            probe_failing,
        )

    async def record(self, outcomes: Outcomes) -> None:
        """Log each attempt and settle its delivery, unless a later attempt of the delivery
        was claimed meanwhile (a lapsed lease); endpoints that answered 2xx are healthy again.
        One statement for the whole batch."""
        if not outcomes.delivery_ids:
            return
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
            ), healthy AS (
                UPDATE webhook_endpoints SET failing_since = NULL
                WHERE id = ANY($10::uuid[]) AND failing_since IS NOT NULL
            )
            UPDATE webhook_deliveries d
            SET status = r.status, lease_until = NULL, last_status_code = r.code,
                last_error = r.error, next_attempt_at = COALESCE(r.next_at, d.next_attempt_at),
                delivered_at = CASE WHEN r.status = 'delivered' THEN r.started_at END
            FROM r WHERE d.id = r.id AND d.attempts = r.attempt
            """,
            outcomes.delivery_ids,
            outcomes.attempts,
            outcomes.statuses,
            outcomes.started_at,
            outcomes.duration_ms,
            outcomes.status_codes,
            outcomes.errors,
            outcomes.response_bodies,
            outcomes.next_attempt_at,
            sorted(outcomes.healthy),
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

    async def worker_settings(self) -> None:
        """For this transaction: worker bookkeeping may skip the wait for the WAL flush (a
        crash loses at most the last claims and outcomes, and that only means an event sent
        again with the same `webhook-id`: deliveries are at least once anyway). No bitmap
        scans: misled by per-endpoint estimates, the planner would read an endpoint's whole
        backlog and sort it instead of walking the due index in order up to the claim's limit.
        And generic plans: the claim and the record run several times a second with the same
        shape, and planning the claim cost more than running it."""
        await (await self.raw()).execute(
            "SELECT set_config('synchronous_commit', 'off', true),"
            " set_config('enable_bitmapscan', 'off', true),"
            " set_config('plan_cache_mode', 'force_generic_plan', true)"
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
