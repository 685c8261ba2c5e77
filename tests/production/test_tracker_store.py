"""bot/tracker_store.py: a failing database fails the turn; nothing falls back to memory."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def store(path: Path, strict: bool = True) -> SQLTrackerStore:
    kind = StrictSQLTrackerStore if strict else SQLTrackerStore
    return kind(domain=DOMAIN, host=f"sqlite:///{path}")


def break_database(sql_store: SQLTrackerStore, tmp_path: Path) -> None:
    """Point the store at a database file that cannot be opened."""
    broken = create_engine(f"sqlite:///{tmp_path}/missing-dir/tracker.sqlite3")
    sql_store.sessionmaker = sessionmaker(bind=broken)


async def test_strict_store_saves_and_reads_back(tmp_path: Path) -> None:
    wrapped = FailSafeTrackerStore(store(tmp_path / "t.db"))
    await wrapped.save(tracker("p1"))
    again = await wrapped.retrieve("p1")
    assert again is not None and again.get_slot("procedure_site") == "neck"


async def test_read_failure_is_raised_not_turned_into_a_new_conversation(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    strict = store(tmp_path / "t.db")
    wrapped = FailSafeTrackerStore(strict)
    await wrapped.save(tracker("p1"))
    break_database(strict, tmp_path)
    with pytest.raises(TrackerStoreUnavailable) as failure:
        await wrapped.retrieve("p1")
    with pytest.raises(TrackerStoreUnavailable):
        await wrapped.get_or_create_tracker("p2")
    assert "OperationalError" in str(failure.value)
    assert "InMemoryTrackerStore" not in caplog.text


async def test_write_failure_is_raised_and_nothing_is_kept_in_memory(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    strict = store(tmp_path / "t.db")
    wrapped = FailSafeTrackerStore(strict)
    break_database(strict, tmp_path)
    with pytest.raises(TrackerStoreUnavailable) as failure:
        await wrapped.save(tracker("p1"))
    assert wrapped._fallback_tracker_store is None
    assert SECRET not in str(failure.value) and "12345678Z" not in caplog.text
    with pytest.raises(TrackerStoreUnavailable):
        await wrapped.keys()


async def test_other_stores_keep_rasas_fallback(tmp_path: Path) -> None:
    """The guard is scoped to strict stores: Rasa's own behaviour is unchanged elsewhere."""
    plain = store(tmp_path / "plain.db", strict=False)
    wrapped = FailSafeTrackerStore(plain)
    break_database(plain, tmp_path)
    await wrapped.save(tracker("p1"))
    assert isinstance(wrapped._fallback_tracker_store, InMemoryTrackerStore)
