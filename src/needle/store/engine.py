"""Opening a database by URL: SQLite (the embedded default) or PostgreSQL, migrated to head.

``postgresql://`` URLs are given the psycopg 3 driver; SQLite runs in WAL mode so a reader
(the review UI, a test) can watch a scan that is writing.

Opening a database that is already at the newest revision (``HEAD_REVISION``, read from the
migration files' names) reads one row and does not load Alembic: that costs every command
that opens the store about 0.2 s of start-up otherwise.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from needle.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["DEFAULT_DB", "HEAD_REVISION", "create_engine", "migrate", "normalise_url"]

DEFAULT_DB = "sqlite:///needle.db"
MIGRATIONS = Path(__file__).with_name("migrations")
#: the newest migration: revisions are numbered like their files (``0007_….py`` is ``0007``;
#: a test checks this against Alembic's own head)
HEAD_REVISION = max(
    m.group(1)
    for m in (re.match(r"(\d{4})_\w+\.py$", p.name) for p in (MIGRATIONS / "versions").iterdir())
    if m
)


def normalise_url(url: str) -> str:
    """Accept a bare path, ``sqlite:///…`` or ``postgresql://…`` and return a SQLAlchemy URL."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_engine(url: str) -> sa.Engine:
    full = normalise_url(url)
    try:
        engine = sa.create_engine(full)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(connection: sa.Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _revision(connection: sa.Connection) -> str | None:
    """The database's schema revision, None when it has none yet."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (creating it in an empty database)."""
    try:
        with engine.begin() as connection:
            if _revision(connection) == HEAD_REVISION:
                return
            from alembic import command

            command.upgrade(alembic_config(connection), "head")
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot open database {engine.url!r}: {exc.orig}") from None
