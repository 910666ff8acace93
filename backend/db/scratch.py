"""Scratch databases (the test suite's, the bench's): dropped and re-created from nothing.

Dropping is guarded by a marker the name must contain, so a mistyped URL can never drop the
demo's or anyone's real database.
"""

from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(url: str, name: str) -> str:
    """The same server URL with another database name."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def recreate_database(url: str, *, marker: str) -> None:
    """Drop (closing its sessions) and create the database of `url`, whose name must contain
    `marker`."""
    await _admin(url, marker, create=True)


async def drop_database(url: str, *, marker: str) -> None:
    await _admin(url, marker, create=False)


async def _admin(url: str, marker: str, *, create: bool) -> None:
    name = urlsplit(url).path.lstrip("/")
    if marker not in name:
        raise SystemExit(f"refusing to drop {name!r}: its name must contain {marker!r}")
    connection = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
