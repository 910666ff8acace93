"""The plan worker: claims one plan at a time (`FOR UPDATE SKIP LOCKED`, under a lease), builds
its problem, fetches the matrices, and runs PyVRP in a thread so the event loop stays free to
renew the lease and report progress every second. A worker that dies stops renewing; once the
lease runs out another worker (or the same one restarted) claims the plan again and solves it
from the start. After `MAX_ATTEMPTS` claims a plan is failed.

What a plan is built from depends on its purpose: `builders` maps "plan" and "recovery" to the
code that turns a plan row into a `Built` problem, and `finishers` to what happens once solved
(a recovery tells its disruption).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.session import unit_of_work
from backend.lib.clock import utcnow
from backend.planning.builder import Built, result_json
from backend.planning.matrix import (
    CachedProvider,
    HaversineProvider,
    MatrixProvider,
    OsrmProvider,
)
from backend.planning.models import Plan
from backend.planning.problem import Solution
from backend.planning.repository import PlanningRepository
from backend.planning.service import announce_plan
from backend.planning.settings import PlanningSettings
from backend.planning.solver import SolveProgress, places_of, solve_problem

log = logging.getLogger("lastmile.planning")
MAX_ATTEMPTS = 3
HEARTBEAT_S = 1.0

Builder = Callable[[AsyncSession, Plan, PlanningSettings], Awaitable[Built]]
Finisher = Callable[[AsyncSession, Plan, Built, Solution], Awaitable[None]]


def provider_for(settings: PlanningSettings) -> MatrixProvider:
    inner: MatrixProvider = (
        OsrmProvider(settings.osrm_url, speeds_kmh=settings.speeds_kmh)
        if settings.osrm_url
        else HaversineProvider(settings.detour_factor, settings.speeds_kmh)
    )
    return CachedProvider(inner)


class PlanWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: PlanningSettings,
        *,
        builders: Mapping[str, Builder],
        finishers: Mapping[str, Finisher] | None = None,
        provider: MatrixProvider | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.builders = builders
        self.finishers = finishers or {}
        self.provider = provider or provider_for(settings)
        self.poll_seconds = poll_seconds

    async def run_once(self) -> UUID | None:
        """Claim and solve one plan; returns its id, or None when there was nothing to do."""
        async with unit_of_work(self.sessionmaker) as session:
            plan_id = await PlanningRepository(session).claim(self.settings.lease_seconds)
        if plan_id is None:
            return None
        try:
            await self._solve(plan_id)
        except asyncio.CancelledError:
            raise  # the process is going away: the lease runs out and another worker claims it
        except Exception as exc:
            log.exception("plan %s failed", plan_id)
            await self._failed(plan_id, f"{type(exc).__name__}: {exc}")
        return plan_id

    async def _solve(self, plan_id: UUID) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            plan = await PlanningRepository(session).get(plan_id)
            assert plan is not None
            if plan.attempts > MAX_ATTEMPTS:
                raise RuntimeError(f"gave up after {MAX_ATTEMPTS} attempts")
            announce_plan(session, plan)
            built = await self.builders[plan.purpose](session, plan, self.settings)
            time_limit = plan.time_limit_s
        started = time.monotonic()
        places, _ = places_of(built.problem)
        matrices = {kind: await self.provider.matrix(places, kind) for kind in built.kinds}
        progress = SolveProgress()
        remaining = max(time_limit - (time.monotonic() - started), 0.1)
        solving = asyncio.ensure_future(
            asyncio.to_thread(
                solve_problem, built.problem, matrices, time_limit_s=remaining, progress=progress
            )
        )
        try:
            while not solving.done():
                await asyncio.wait({solving}, timeout=HEARTBEAT_S)
                if not solving.done() and not await self._heartbeat(plan_id, progress, started):
                    progress.cancel.set()  # someone else owns it now
                    return
        finally:
            progress.cancel.set()  # stop the thread early if we are being cancelled
        solution = solving.result()
        await self._finish(plan_id, built, solution, time.monotonic() - started)

    async def _heartbeat(self, plan_id: UUID, progress: SolveProgress, started: float) -> bool:
        async with unit_of_work(self.sessionmaker) as session:
            repo = PlanningRepository(session)
            ours = await repo.heartbeat(
                plan_id,
                self.settings.lease_seconds,
                progress.best_cost,
                round(time.monotonic() - started, 2),
            )
            if ours:
                plan = await repo.get(plan_id)
                assert plan is not None
                announce_plan(session, plan)
            return ours

    async def _finish(
        self, plan_id: UUID, built: Built, solution: Solution, elapsed: float
    ) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            plan = await PlanningRepository(session).get(plan_id, for_update=True)
            if plan is None or plan.status != "solving":
                return
            plan.result = result_json(
                solution, built.origin, built.unplannable, built.problem.vehicles
            )
            plan.status = "done"
            plan.best_cost = solution.cost
            plan.elapsed_s = round(elapsed, 2)
            plan.finished_at = utcnow()
            plan.lease_until = None
            finisher = self.finishers.get(plan.purpose)
            if finisher is not None:
                await finisher(session, plan, built, solution)
            await session.flush()
            announce_plan(session, plan)

    async def _failed(self, plan_id: UUID, error: str) -> None:
        async with unit_of_work(self.sessionmaker) as session:
            plan = await PlanningRepository(session).get(plan_id, for_update=True)
            if plan is None:
                return
            plan.status, plan.error, plan.lease_until = "failed", error[:2000], None
            plan.finished_at = utcnow()
            finisher = self.finishers.get(f"{plan.purpose}.failed")
            if finisher is not None:
                await finisher(session, plan, None, None)  # type: ignore[arg-type]
            await session.flush()
            announce_plan(session, plan)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                did = await self.run_once()
            except Exception:
                log.exception("plan worker round failed")
                did = None
            if did is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)


def plan_workers_config() -> dict[str, Any]:
    """The builders and finishers of every purpose, wired in one place."""
    from backend.disruptions.recovery import build_recovery, recovery_failed, recovery_solved
    from backend.planning.plan_builder import build_plan

    return {
        "builders": {"plan": build_plan, "recovery": build_recovery},
        "finishers": {"recovery": recovery_solved, "recovery.failed": recovery_failed},
    }
