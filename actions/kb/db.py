"""Engine and session factory for the knowledge base, built lazily from the environment.

Why lazy: rasa_sdk imports every module of the actions package at start-up; nothing here may
touch the database at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATA_DIR = Path(".data")


class KnowledgeBaseUnavailable(RuntimeError):
    """The KB database cannot be read; actions answer with the safe 'please call' message."""


@dataclass(frozen=True)
class KbSettings:
    """Where the KB lives and how long a query may take."""

    database_url: str
    query_timeout_s: float

    @classmethod
    def from_env(cls) -> KbSettings:
        """Read KB_DATABASE_URL (default: SQLite in .data/) and KB_QUERY_TIMEOUT_S."""
        default_url = f"sqlite:///{(DEFAULT_DATA_DIR / 'kb.sqlite3').resolve()}"
        return cls(
            database_url=os.environ.get("KB_DATABASE_URL") or default_url,
            query_timeout_s=float(os.environ.get("KB_QUERY_TIMEOUT_S", "3")),
        )


def _normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written without a driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


@lru_cache(maxsize=8)
def get_engine(database_url: str) -> Engine:
    """One engine per URL per process (engines own connection pools)."""
    url = _normalise_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 5})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # SQLAlchemy's recipe for real transactions on pysqlite: the driver must not start
            # (or skip) transactions itself, so DDL in `make kb` is atomic like on PostgreSQL.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN")

        return engine
    return create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": 3}, pool_size=5
    )


@lru_cache(maxsize=8)
def _session_factory(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(database_url), expire_on_commit=False)


def session_factory(database_url: str | None = None) -> sessionmaker[Session]:
    """A sessionmaker bound to the configured KB engine (one per URL per process)."""
    return _session_factory(database_url or KbSettings.from_env().database_url)


__all__ = [
    "KbSettings",
    "KnowledgeBaseUnavailable",
    "SQLAlchemyError",
    "get_engine",
    "session_factory",
]
