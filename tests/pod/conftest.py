"""POD tests run with blobs in a directory of their own and a small blob limit."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar

from backend.app import create_app
from backend.config import Settings
from tests.conftest import _truncate, make_settings

BLOB_LIMIT = 64 * 1024


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def pod_settings(blob_dir: Path) -> Settings:
    return make_settings(blob_dir=str(blob_dir), blob_max_bytes=BLOB_LIMIT)


@pytest.fixture
async def app(pod_settings: Settings, db: asyncpg.Pool) -> AsyncIterator[Litestar]:
    await _truncate(db)
    yield create_app(pod_settings)
