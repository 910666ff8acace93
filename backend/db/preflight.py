"""Checks a command makes of its database before it starts, each failing in one clear line.

`require_migrated` (serve, seed-demo): the database exists, answers and has been migrated.
`create_if_missing` (migrate --create-database): make the database when the role may.
`explain` turns the errors people meet into one line, with the password of the URL hidden.
"""

from __future__ import annotations

import asyncio

import asyncpg

from backend.config import Settings
from backend.db.scratch import with_database

CONNECT_SECONDS = 10
DRIVER_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class DatabaseProblem(Exception):
    """What is wrong with the database, in one line for the operator."""


def require_migrated(settings: Settings) -> None:
    async def migrated() -> bool:
        connection = await asyncpg.connect(settings.plain_database_url, timeout=CONNECT_SECONDS)
        try:
            return bool(await connection.fetchval("SELECT to_regclass('alembic_version')"))
        finally:
            await connection.close()

    try:
        ready = asyncio.run(migrated())
    except DRIVER_ERRORS as exc:
        raise DatabaseProblem(explain(exc, settings)) from None
    if not ready:
        raise DatabaseProblem("the database has no tables yet: run `lastmile migrate` first")


def create_if_missing(settings: Settings) -> str | None:
    """The database's name when this call created it, None when it was there."""
    url = settings.plain_database_url
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]

    async def create() -> bool:
        try:
            await (await asyncpg.connect(url, timeout=CONNECT_SECONDS)).close()
            return False
        except asyncpg.InvalidCatalogNameError:
            pass
        admin = await asyncpg.connect(with_database(url, "postgres"), timeout=CONNECT_SECONDS)
        try:
            await admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        finally:
            await admin.close()
        return True

    try:
        return name if asyncio.run(create()) else None
    except asyncpg.InsufficientPrivilegeError:
        raise DatabaseProblem(
            f"database {name!r} does not exist and this role may not create it: ask an "
            f'administrator to run CREATE DATABASE "{name}" (or `createdb {name}`), then again'
        ) from None
    except DRIVER_ERRORS as exc:
        raise DatabaseProblem(explain(exc, settings)) from None


def explain(exc: BaseException, settings: Settings) -> str:
    """One clear line for the failures people meet; anything else keeps its own message."""
    where = redacted(settings.plain_database_url)
    text = str(getattr(exc, "orig", None) or exc)
    if "postgis" in text.lower() and ("not available" in text or "could not open" in text):
        return (
            f"PostGIS is not installed on the server of {where}: install it there "
            "(Debian: apt-get install postgresql-NN-postgis-3, NN being the server's version) "
            f"and run again. ({text.strip()})"
        )
    if "does not exist" in text and "database" in text:
        return f"{text.strip()}: create it first (scripts/serve does) — {where}"
    if isinstance(exc, OSError) or "connect" in type(exc).__name__.lower():
        return f"cannot reach the database at {where}: {text.strip()}"
    if "password authentication failed" in text or "no pg_hba.conf entry" in text:
        return f"the server refused the sign-in for {where}: {text.strip()}"
    return f"{type(exc).__name__}: {text.strip()}"


def redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{credentials}{at}{host}"
