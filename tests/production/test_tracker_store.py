"""bot/tracker_store.py: a failing database fails the turn; nothing falls back to memory.

On PostgreSQL, the production tracker database (SQLite would hide what PostgreSQL enforces).
"""

from __future__ import annotations

import secrets
from typing import Callable, Iterator

import pytest
from prod_harness import admin, with_database
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from bot.tracker_store import StrictSQLTrackerStore, TrackerStoreUnavailable

SECRET = "my DNI is 12345678Z"
DOMAIN = Domain.from_yaml("""
version: "3.1"
slots:
  procedure_site:
    type: text
    mappings: [{type: custom}]
""")


def tracker(sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen"), UserUttered(SECRET), SlotSet("procedure_site", "neck"),
    ], slots=DOMAIN.slots)


StoreFactory = Callable[..., SQLTrackerStore]


@pytest.fixture
def make_store(pg_url: str) -> Iterator[StoreFactory]:
    """Tracker stores, each on a fresh PostgreSQL database (dropped afterwards)."""
    made: list[str] = []

    def make(strict: bool = True) -> SQLTrackerStore:
        name = "ts" + secrets.token_hex(6)
        admin(pg_url, f"CREATE DATABASE {name}")
        made.append(name)
        kind = StrictSQLTrackerStore if strict else SQLTrackerStore
        return kind(domain=DOMAIN, host=with_database(pg_url, name))

    yield make
    for name in made:
        admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def break_database(sql_store: SQLTrackerStore) -> None:
    """Point the store at a database server that refuses connections."""
    broken = create_engine("postgresql://postgres@127.0.0.1:1/none",
                           connect_args={"connect_timeout": 2})
    sql_store.sessionmaker = sessionmaker(bind=broken)


async def test_strict_store_saves_and_reads_back(make_store: StoreFactory) -> None:
    wrapped = FailSafeTrackerStore(make_store())
    await wrapped.save(tracker("p1"))
    again = await wrapped.retrieve("p1")
    assert again is not None and again.get_slot("procedure_site") == "neck"


async def test_read_failure_is_raised_not_turned_into_a_new_conversation(
        make_store: StoreFactory, caplog: pytest.LogCaptureFixture) -> None:
    strict = make_store()
    wrapped = FailSafeTrackerStore(strict)
    await wrapped.save(tracker("p1"))
    break_database(strict)
    with pytest.raises(TrackerStoreUnavailable) as failure:
        await wrapped.retrieve("p1")
    with pytest.raises(TrackerStoreUnavailable):
        await wrapped.get_or_create_tracker("p2")
    assert "OperationalError" in str(failure.value)
    assert "InMemoryTrackerStore" not in caplog.text


async def test_write_failure_is_raised_and_nothing_is_kept_in_memory(
        make_store: StoreFactory, caplog: pytest.LogCaptureFixture) -> None:
    strict = make_store()
    wrapped = FailSafeTrackerStore(strict)
    break_database(strict)
    with pytest.raises(TrackerStoreUnavailable) as failure:
        await wrapped.save(tracker("p1"))
    assert wrapped._fallback_tracker_store is None
    assert SECRET not in str(failure.value) and "12345678Z" not in caplog.text
    with pytest.raises(TrackerStoreUnavailable):
        await wrapped.keys()


async def test_other_stores_keep_rasas_fallback(make_store: StoreFactory) -> None:
    """The guard is scoped to strict stores: Rasa's own behaviour is unchanged elsewhere."""
    plain = make_store(strict=False)
    wrapped = FailSafeTrackerStore(plain)
    break_database(plain)
    await wrapped.save(tracker("p1"))
    assert isinstance(wrapped._fallback_tracker_store, InMemoryTrackerStore)
