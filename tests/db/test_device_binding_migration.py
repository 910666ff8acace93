"""Migration 0008 keeps one binding per device id (the driver seen last) and re-keys acks by
(driver, device), on a database of its own migrated from 0007."""

import asyncio
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import asyncpg
from alembic import command

from backend.config import Settings
from backend.db.migrations import alembic_config, upgrade
from backend.db.scratch import drop_database, recreate_database, with_database


async def test_duplicate_device_bindings_keep_the_one_seen_last(database: str) -> None:
    name = urlsplit(database).path.lstrip("/") + "_m0008"
    url = with_database(database, name)
    settings = Settings.from_env({"LASTMILE_DATABASE_URL": url})
    await recreate_database(url, marker="test")
    try:
        await asyncio.to_thread(upgrade, settings, "0007")
        connection = await asyncpg.connect(url)
        try:
            first, second = await _two_drivers(connection)
            await connection.executemany(
                "INSERT INTO devices (id, driver_id, device_id, last_seen_at)"
                " VALUES (gen_random_uuid(), $1, $2, now() - $3::interval)",
                [
                    (first, "hh-shared", timedelta(days=1)),
                    (second, "hh-shared", timedelta(0)),
                    (first, "hh-own", timedelta(0)),
                ],
            )
            await connection.execute(
                "INSERT INTO device_sync (device_id, driver_id, ack_seq) VALUES ('hh-shared', $1, 7)",
                second,
            )
            await asyncio.to_thread(upgrade, settings)
            rows = await connection.fetch("SELECT device_id, driver_id FROM devices ORDER BY 1")
            assert [(r["device_id"], r["driver_id"]) for r in rows] == [
                ("hh-own", first),
                ("hh-shared", second),
            ]
            key = await connection.fetchval(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_device_sync'"
            )
            assert key == "PRIMARY KEY (driver_id, device_id)"
            await asyncio.to_thread(command.downgrade, alembic_config(settings), "0007")
            assert await connection.fetchval("SELECT count(*) FROM device_sync") == 1
        finally:
            await connection.close()
    finally:
        await drop_database(url, marker="test")


async def _two_drivers(connection: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    hub = await connection.fetchval(
        "INSERT INTO hubs (id, name, code, location) VALUES"
        " (gen_random_uuid(), 'H', 'H1', 'SRID=4326;POINT(13.4 52.5)') RETURNING id"
    )
    drivers = []
    for n in (1, 2):
        user = await connection.fetchval(
            "INSERT INTO users (id, email, password_hash, role) VALUES"
            " (gen_random_uuid(), $1, 'x', 'driver') RETURNING id",
            f"d{n}@test.lastmile",
        )
        drivers.append(
            await connection.fetchval(
                "INSERT INTO drivers (id, user_id, name, home_hub_id) VALUES"
                " (gen_random_uuid(), $1, 'D', $2) RETURNING id",
                user,
                hub,
            )
        )
    return drivers[0], drivers[1]
