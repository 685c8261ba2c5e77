"""Fixtures for KB tests: the real content, built into SQLite and PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL (set by `make test-actions` via
scripts/test_services.sh). Without it the PostgreSQL cases are skipped, unless REQUIRE_POSTGRES=1
(as in `make test-actions`), where a missing server is a failure. Every PostgreSQL database used
here lives in its own schema with a random name, dropped afterwards, so parallel runs on one
server never see each other's tables.

SQLite engines come from actions.kb.db.get_engine, the factory the action server and `make kb`
use: its transaction set-up is what makes a rebuild atomic on SQLite.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from actions.kb.builder import build_database
from actions.kb.db import _normalise_url, get_engine
from actions.kb.loader import KbContent, load_kb

REPO = Path(__file__).resolve().parents[2]
KB_DIR = REPO / "data" / "kb"
CLINIC = "us_example"  # the profile the expectations below are written for (not KB_CLINIC)

EngineFactory = Callable[[], Engine]


def load_or_fail(directory: Path, clinic: str = CLINIC) -> KbContent:
    """A KB folder that must be valid."""
    content, problems = load_kb(directory, clinic)
    assert content is not None, "\n".join(map(str, problems))
    return content


@pytest.fixture(scope="session")
def kb_content() -> KbContent:
    """The shipped KB, validated, with the US example profile."""
    return load_or_fail(KB_DIR)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of data/kb for tests that change it."""
    target = tmp_path / "kb"
    shutil.copytree(KB_DIR, target)
    return target


def _postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        pytest.skip("TEST_POSTGRES_URL not set (make test-actions starts PostgreSQL)")
    return _normalise_url(url)


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql",
                                                                marks=pytest.mark.postgres)])
def new_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineFactory]:
    """Makes empty KB databases on one backend; all are removed at the end of the session."""
    made: list[tuple[Engine, str | None]] = []
    admin: Engine | None = None
    if request.param == "postgresql":
        admin = create_engine(_postgres_url())

    def make() -> Engine:
        if admin is None:
            path = tmp_path_factory.mktemp("kb") / "kb.sqlite3"
            engine = get_engine(f"sqlite:///{path}")
            made.append((engine, None))
            return engine
        schema = f"kb_test_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(admin.url, connect_args={"options": f"-csearch_path={schema}"})
        made.append((engine, schema))
        return engine

    yield make
    for engine, schema in made:
        engine.dispose()
        if admin is not None and schema is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    if admin is not None:
        admin.dispose()


@pytest.fixture(scope="session")
def kb_engine(new_engine: EngineFactory, kb_content: KbContent) -> Engine:
    """The shipped KB built into each backend once per session (read-only for tests)."""
    engine = new_engine()
    build_database(kb_content, engine, str(KB_DIR))
    return engine


@pytest.fixture
def session(kb_engine: Engine) -> Iterator[Session]:
    """A read session on the built shipped KB."""
    with sessionmaker(kb_engine)() as db_session:
        yield db_session
