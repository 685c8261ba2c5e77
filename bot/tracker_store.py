"""SQL tracker store that fails loudly instead of falling back to memory.

Why: Rasa wraps every tracker store in FailSafeTrackerStore. When the database fails it logs
the error and carries on with an in-memory store: a failed read becomes an empty tracker (the
patient's date, site and medicines are forgotten and the bot answers as if they had never
spoken), and a failed write lives only in that process's memory (reliability-security.md §2.7,
R16). This store:

- raises `TrackerStoreUnavailable` on any database error, with the error *type* only (SQL error
  messages quote the bound event data, i.e. patient text);
- makes FailSafeTrackerStore re-raise instead of falling back, for strict stores only; the
  channel then answers with the safe "please call" reply or a 5xx (bot.rest_safe, the web
  and SMS channels), never with a conversation kept in memory;
- checks pooled PostgreSQL connections before use (pool_pre_ping) and bounds connection
  attempts, so a database restart costs no patient turn;
- runs every database call in a worker thread of its own pool: SQLTrackerStore's coroutines
  do synchronous SQLAlchemy work, so a locked SQLite file (5 s busy timeout per statement) or
  a slow database froze Rasa's one event loop, and with it every conversation's turn budget
  and the safety gate's emergency replies (tests/stack/test_fault_injection.py). Its own pool,
  so calls stuck on the database cannot starve the default executor (SMS state, alerts);
- installs the process-wide guards (action time budget, log redaction: bot.runtime_guards).

Used by endpoints.yml in every profile: `type: bot.tracker_store.StrictSQLTrackerStore`, with
SQLite locally and PostgreSQL in production.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Iterable, Optional, Text, TypeVar

import sqlalchemy
from rasa.core.tracker_store import (
    FailSafeTrackerStore,
    SQLTrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import sessionmaker

from bot import runtime_guards

logger = logging.getLogger(__name__)
T = TypeVar("T")
CONNECT_TIMEOUT_S = 3
_DATABASE_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="tracker-store")


class TrackerStoreUnavailable(RuntimeError):
    """The conversation database cannot be read or written; the turn must not go on."""


def _unavailable(operation: str, error: BaseException) -> TrackerStoreUnavailable:
    logger.error("tracker store %s failed: %s", operation, type(error).__name__)
    return TrackerStoreUnavailable(
        f"tracker store {operation} failed ({type(error).__name__})"
    )


class StrictSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose errors reach the channel; Rasa may not hide them in memory."""

    refuses_memory_fallback = True
    engine: Any  # set by SQLTrackerStore.__init__ (Rasa is not type-checked here)
    sessionmaker: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Install the runtime guards, then connect like SQLTrackerStore."""
        runtime_guards.install()
        refuse_memory_fallback()
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name != "sqlite":
            # Check pooled connections before use (a restarted database otherwise fails the
            # next turn of every process) and bound connection attempts: the store's calls
            # are synchronous and would stall the event loop.
            url = self.engine.url
            engine_kwargs = create_engine_kwargs(url)
            engine_kwargs.setdefault("connect_args", {}).setdefault(
                "connect_timeout", CONNECT_TIMEOUT_S)
            self.engine.dispose()
            self.engine = sqlalchemy.create_engine(url, pool_pre_ping=True, **engine_kwargs)
            self.sessionmaker = sessionmaker(bind=self.engine)

    async def _strict(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            # Off the event loop: the thread runs the coroutine on a loop of its own.
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(_DATABASE_THREADS,
                                              lambda: asyncio.run(_awaited(call)))
        except TrackerStoreUnavailable:
            raise
        except Exception as error:  # noqa: BLE001 - every DB failure means "unavailable"
            raise _unavailable(operation, error) from None

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The latest session's tracker, or TrackerStoreUnavailable."""
        return await self._strict("read", lambda: super(StrictSQLTrackerStore, self)
                                  .retrieve(sender_id))

    async def retrieve_full_tracker(
        self, conversation_id: Text
    ) -> Optional[DialogueStateTracker]:
        """All sessions' events, or TrackerStoreUnavailable."""
        return await self._strict("read", lambda: super(StrictSQLTrackerStore, self)
                                  .retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the new events, or TrackerStoreUnavailable."""
        await self._strict("write", lambda: super(StrictSQLTrackerStore, self).save(tracker))

    async def keys(self) -> Iterable[Text]:
        """All conversation ids, or TrackerStoreUnavailable."""
        return await self._strict("keys", lambda: super(StrictSQLTrackerStore, self).keys())


async def _awaited(call: Callable[[], Awaitable[T]]) -> T:
    return await call()


def _strict_primary(store: FailSafeTrackerStore) -> bool:
    return bool(getattr(store._tracker_store, "refuses_memory_fallback", False))


def refuse_memory_fallback() -> None:
    """Make FailSafeTrackerStore re-raise errors of strict stores instead of falling back.

    Rasa 3.6 builds the wrapper itself (Agent._create_tracker_store) and offers no option to
    turn the fallback off. Both of its error hooks run inside the `except` block before the
    fallback is used, so raising there stops the fallback. Other stores keep Rasa's behaviour.
    """
    if getattr(FailSafeTrackerStore, "_strict_fallback_installed", False):
        return
    original_write = FailSafeTrackerStore.on_tracker_store_error
    original_read = FailSafeTrackerStore.on_tracker_store_retrieve_error

    @functools.wraps(original_write)
    def on_write_error(self: FailSafeTrackerStore, error: Exception) -> None:
        if _strict_primary(self):
            raise error
        original_write(self, error)

    @functools.wraps(original_read)
    def on_read_error(self: FailSafeTrackerStore, error: Exception) -> None:
        if _strict_primary(self):
            raise error
        original_read(self, error)

    FailSafeTrackerStore.on_tracker_store_error = on_write_error
    FailSafeTrackerStore.on_tracker_store_retrieve_error = (
        on_read_error
    )
    FailSafeTrackerStore._strict_fallback_installed = True
