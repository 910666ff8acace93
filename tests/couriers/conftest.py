"""Courier tests keep their blobs (documents) in a directory of their own, and run the outbox
worker in their own event loop."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar

from backend.app import create_app
from backend.config import Settings
from backend.couriers.checks import CHECKS_KEY, CourierChecks, load_checks
from backend.db.session import make_engine, make_sessionmaker
from backend.notifications.providers import NOTIFIER_KEY, Notifier, RecordingProvider
from backend.outbox.handlers import HANDLERS
from backend.outbox.worker import OutboxWorker
from tests.conftest import _truncate, make_settings


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def courier_settings(blob_dir: Path) -> Settings:
    # Every test client comes from one address: the per-address limit is tested on its own.
    return make_settings(blob_dir=str(blob_dir), courier_applications_per_hour=100_000)


@pytest.fixture
async def app(courier_settings: Settings, db: asyncpg.Pool) -> AsyncIterator[Litestar]:
    await _truncate(db)
    yield create_app(courier_settings)


@pytest.fixture
async def outbox(courier_settings: Settings) -> AsyncIterator[OutboxWorker]:
    """The outbox worker in the test's event loop, sending through the recording provider; its
    local check provider answers the address in `outbox.public_url` (set by tests that run a
    real API process)."""
    engine = make_engine(courier_settings)
    info = {NOTIFIER_KEY: Notifier(RecordingProvider()), CHECKS_KEY: load_checks(courier_settings)}
    yield OutboxWorker(make_sessionmaker(engine, info=info), HANDLERS)
    await engine.dispose()


def point_checks_at(worker: OutboxWorker, base_url: str) -> None:
    """Make the worker's check provider answer the API at `base_url`."""
    checks = worker.sessionmaker.kw["info"][CHECKS_KEY]
    worker.sessionmaker.kw["info"][CHECKS_KEY] = CourierChecks(checks.provider, base_url)


async def drain(worker: OutboxWorker) -> None:
    while await worker.run_once():
        pass
