"""Transient faults answer 503 problem+json with Retry-After, after bounded in-server retries.

The deadlock and serialization failures are real PostgreSQL errors, raised by the server with
their SQLSTATE (`RAISE … USING ERRCODE`), through the same driver paths as a real lock race:
the raw asyncpg connection and the SQLAlchemy session.
"""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar import Litestar, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from backend.app import create_app
from backend.db.session import (
    DbSession,
    make_engine,
    make_sessionmaker,
    provide_db_session,
    raw_connection,
)
from backend.lib.errors import PROBLEM_JSON, RETRY_MARKER, exception_handlers
from backend.lib.retry import ATTEMPTS, RetryTransientMiddleware
from tests.conftest import make_settings

RAISE = "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{}'; END $$"


class Probe:
    """A handler that writes a row, then fails with a given SQLSTATE its first `failures` runs."""

    def __init__(self) -> None:
        self.failures = 0
        self.runs = 0
        self.state = "40P01"
        self.orm = False

    async def handle(self, db_session: DbSession, data: dict[str, Any]) -> dict[str, Any]:
        self.runs += 1
        raw = await raw_connection(db_session)
        await raw.execute("INSERT INTO fault_probe (label) VALUES ($1)", data["label"])
        if self.runs <= self.failures:
            statement = RAISE.format(self.state)
            if self.orm:
                await db_session.execute(text(statement))
            else:
                await raw.execute(statement)
        return {"runs": self.runs}


@pytest.fixture
async def probe(db: asyncpg.Pool) -> AsyncIterator[tuple[Probe, AsyncTestClient]]:
    await db.execute("CREATE TABLE IF NOT EXISTS fault_probe (label text NOT NULL)")
    await db.execute("TRUNCATE fault_probe")
    settings = make_settings()
    engine = make_engine(settings)
    probe = Probe()

    @post("/probe", status_code=200)
    async def handler(db_session: DbSession, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        return await probe.handle(db_session, data)

    app = Litestar(
        route_handlers=[handler],
        dependencies={"db_session": Provide(provide_db_session)},
        state=State({"sessionmaker": make_sessionmaker(engine)}),
        middleware=[RetryTransientMiddleware],
        exception_handlers=exception_handlers,
    )
    async with AsyncTestClient(app=app) as client:
        yield probe, client
    await engine.dispose()
    await db.execute("DROP TABLE fault_probe")


@pytest.mark.parametrize(("state", "orm"), [("40P01", False), ("40001", True)])
async def test_a_lost_lock_race_is_retried_inside_the_server(probe, db, state, orm) -> None:
    handler, client = probe
    handler.state, handler.orm, handler.failures = state, orm, ATTEMPTS - 1
    response = await client.post("/probe", json={"label": "kept"})
    assert response.status_code == 200, response.text
    assert response.json() == {"runs": ATTEMPTS}  # the body was replayed to every run
    # The failed runs were rolled back: only the last run's row is there.
    assert await db.fetch("SELECT label FROM fault_probe") == [("kept",)]


@pytest.mark.parametrize(
    ("state", "orm", "code"),
    [("40P01", False, "deadlock"), ("40001", True, "serialization_failure")],
)
async def test_retries_are_bounded_then_503_with_retry_after(probe, db, state, orm, code) -> None:
    handler, client = probe
    handler.state, handler.orm, handler.failures = state, orm, 100
    response = await client.post("/probe", json={"label": "lost"})
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "1"
    assert RETRY_MARKER not in response.headers
    assert response.json()["code"] == code
    assert handler.runs == ATTEMPTS
    assert await db.fetchval("SELECT count(*) FROM fault_probe") == 0


async def test_a_database_that_does_not_answer_is_503_not_500() -> None:
    # Nothing listens on port 1 of loopback: every connection attempt is refused.
    settings = make_settings(database_url="postgresql://postgres@127.0.0.1:1/lastmile_down")
    async with AsyncTestClient(app=create_app(settings)) as client:
        login = await client.post(
            "/v1/auth/token", json={"email": "a@b.example", "password": "whatever-123"}
        )
        ready = await client.get("/readyz")
    assert login.status_code == 503, login.text
    assert login.headers["content-type"] == PROBLEM_JSON
    assert login.headers["retry-after"] == "5"
    assert login.json()["code"] == "database_unavailable"
    assert ready.status_code == 503
