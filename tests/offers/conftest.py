"""Courier tests keep their blobs (documents) in a directory of their own."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar

from backend.app import create_app
from backend.config import Settings
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
