"""Running Alembic from code (CLI, tests) and what the schema comparison ignores."""

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers

from backend.config import Settings

ROOT = Path(__file__).resolve().parents[2]
FOREIGN_TABLES = {"spatial_ref_sys"}  # PostGIS owns it; it is not ours to diff
# Partitions of the day-partitioned `positions` table are made and dropped at run time
# (backend/tracking/partitions.py); the parent table is what models and migrations describe.
PARTITIONS = re.compile(r"^positions_(default|p\d{8})$")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table" and name in FOREIGN_TABLES:
        return False
    if type_ == "table" and reflected and compare_to is None and PARTITIONS.match(name or ""):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(settings: Settings) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = settings.async_database_url
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Blocking: run it in a thread from async code."""
    command.upgrade(alembic_config(settings), revision)
