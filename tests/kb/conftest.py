"""Fixtures for KB tests: the real content, loaded into SQLite and PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL (set by `make test` via scripts/test_services.sh).
Without it the PostgreSQL cases are skipped, unless REQUIRE_POSTGRES=1 (as in `make test`),
where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from actions.kb.builder import build_database
from actions.kb.db import _normalise_url
from actions.kb.loader import KbContent, load_kb

REPO = Path(__file__).resolve().parents[2]
KB_DIR = REPO / "data" / "kb"


@pytest.fixture(scope="session")
def kb_content() -> KbContent:
    """The shipped KB, validated."""
    content, problems = load_kb(KB_DIR)
    assert content is not None, "\n".join(map(str, problems))
    return content


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of data/kb for tests that break it on purpose."""
    target = tmp_path / "kb"
    shutil.copytree(KB_DIR, target)
    return target


def _postgres_engine() -> Engine:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        pytest.skip("TEST_POSTGRES_URL not set (make test starts PostgreSQL)")
    engine = create_engine(_normalise_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS kb_test CASCADE"))
        connection.execute(text("CREATE SCHEMA kb_test"))
    return create_engine(
        _normalise_url(url), connect_args={"options": "-csearch_path=kb_test"}
    )


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql",
                                                                marks=pytest.mark.postgres)])
def kb_engine(
    request: pytest.FixtureRequest, kb_content: KbContent, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The shipped KB built into each backend once per session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("kb") / "kb.sqlite3"
        engine = create_engine(f"sqlite:///{path}")
    else:
        engine = _postgres_engine()
    build_database(kb_content, engine, str(KB_DIR))
    yield engine
    engine.dispose()


@pytest.fixture
def session(kb_engine: Engine) -> Iterator[Session]:
    """A read session on the built KB."""
    with sessionmaker(kb_engine)() as db_session:
        yield db_session
