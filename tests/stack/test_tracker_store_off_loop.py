"""A locked or slow tracker database must not freeze Rasa's event loop (bot/tracker_store.py).

Found by the fault-injection tests (test_fault_injection.py, tracker database locked): every
conversation shares one event loop, and SQLTrackerStore's coroutines did their SQLAlchemy
work on it. A locked SQLite file made each statement wait out the 5 s busy timeout with the
loop frozen: other patients' turns, the turn budget and the safety gate's emergency replies
all waited (an emergency reply took 5 s, a routine reply 15 s). Fast: no servers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain

from bot import runtime_guards
from bot.tracker_store import StrictSQLTrackerStore


async def test_a_locked_database_leaves_the_event_loop_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_guards, "_installed", True)  # no gate, no classifier here
    path = tmp_path / "tracker.sqlite3"
    store = StrictSQLTrackerStore(domain=Domain.empty(), host=f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # what another process holding a write lock does
    try:
        pending = asyncio.ensure_future(store.retrieve("patient-1"))
        started = time.monotonic()
        await asyncio.sleep(0.3)  # other coroutines (other patients' turns) must run now
        waited = time.monotonic() - started
        assert not pending.done(), "the read should still be waiting for the lock"
        assert waited < 2.5, f"the event loop was frozen for {waited:.1f} s"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert await asyncio.wait_for(pending, 10) is None  # the read finishes once unlocked
