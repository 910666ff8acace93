"""The models and the migrations describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from backend.config import Settings
from backend.db.migrations import include_object
from backend.db.models import Base


def _diff(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"include_object": include_object, "compare_type": True}
    )
    return compare_metadata(context, Base.metadata)


async def test_models_and_migrations_agree(database: str) -> None:
    url = Settings.from_env({"LASTMILE_DATABASE_URL": database}).async_database_url
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == []


async def test_postgis_is_installed_by_the_first_migration(db) -> None:
    version = await db.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    assert version is not None
