"""Redis ticket lock store whose read-modify-write steps are atomic across Rasa processes.

Why: with more than one Rasa process, every message of a conversation must take a ticket from
the same lock so that turns run one at a time and in arrival order. Rasa's open-source
RedisLockStore issues and returns tickets with a plain GET then SET (rasa#9213): two processes
issuing at the same moment can overwrite each other's ticket, and the cleanup can delete a
lock someone else has just joined. The atomic store of Rasa Pro is not available in 3.6 OSS.
This subclass runs those steps in Redis transactions (WATCH/MULTI, retried on conflict) and
gives every lock key an expiry, so a crashed process cannot leave a conversation id behind.

endpoints.yml (production): `lock_store: type: bot.lock_store.AtomicRedisLockStore` with
LOCK_STORE_URL=redis://….

Prompt hand-over (both stores): Rasa's lock store makes a waiting message poll the lock once a
second, so a burst of messages for one patient drained one per second at best (10 messages
50 ms apart took 8.8 s). A waiter here sleeps on an event that the release of the lock sets:
in the same process directly, across processes through a Redis pub/sub message on release.
The one-second poll stays only as a safety net (a lost message, a crashed holder's expiry).
`PromptInMemoryLockStore` is the local profile's store (LOCK_STORE_TYPE); Rasa's `in_memory`
still works but polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import redis  # type: ignore[import-untyped]  # no stubs in the bot environment
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_TRANSACTION_ATTEMPTS = 50
RELEASE_CHANNEL = "released"  # pub/sub channel (after the key prefix) announcing a release
UNHEARD_POLL_S = 0.05  # poll while the pub/sub listener is (re)connecting


class ReleaseSignals:
    """Waiters for the release of a conversation's lock, woken from any thread."""

    def __init__(self) -> None:
        self._waiting: Dict[str, List[Tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    def waiter(self, conversation_id: Text) -> asyncio.Event:
        """An event set at the next release; register it *before* reading the lock, so a
        release in between cannot be missed."""
        event = asyncio.Event()
        with self._lock:
            self._waiting.setdefault(conversation_id, []).append(
                (asyncio.get_running_loop(), event))
        return event

    def forget(self, conversation_id: Text, event: asyncio.Event) -> None:
        """Drop a waiter that woke up on its own (the poll timeout)."""
        with self._lock:
            waiting = [w for w in self._waiting.get(conversation_id, []) if w[1] is not event]
            if waiting:
                self._waiting[conversation_id] = waiting
            else:
                self._waiting.pop(conversation_id, None)

    def notify(self, conversation_id: Text) -> None:
        """Wake every waiter of the conversation (callable from any thread)."""
        with self._lock:
            waiting = self._waiting.pop(conversation_id, [])
        for loop, event in waiting:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed
                continue

    def waiting(self) -> int:
        """How many waiters are registered (tests)."""
        with self._lock:
            return sum(len(w) for w in self._waiting.values())


class PromptHandOver:
    """Mixin for Rasa lock stores: a waiting ticket wakes when the lock is released."""

    signals: ReleaseSignals

    async def _acquire_lock(
        self, conversation_id: Text, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        store: Any = self
        while True:
            released = self.signals.waiter(conversation_id)
            try:
                lock = store.get_lock(conversation_id)
                if not lock:
                    break  # the lock expired
                if not lock.is_locked(ticket):
                    return lock
                self._listen_for_releases()
                # the poll is only the safety net: look again after it anyway (soon, while
                # another process's release could not reach this one)
                poll = wait_time_in_seconds if self._hears_releases() else \
                    min(wait_time_in_seconds, UNHEARD_POLL_S)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(released.wait(), timeout=poll)
            finally:
                self.signals.forget(conversation_id, released)
            store.update_lock(conversation_id)
        raise LockError("Could not acquire the conversation lock.")

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Return the ticket (the store's own way), then wake the next waiter at once."""
        super().cleanup(conversation_id, ticket_number)  # type: ignore[misc]
        self._announce_release(conversation_id)

    def _announce_release(self, conversation_id: Text) -> None:
        self.signals.notify(conversation_id)

    def _listen_for_releases(self) -> None:
        """Start listening for releases in other processes (Redis only)."""

    def _hears_releases(self) -> bool:
        """Whether every release that could free this lock wakes its waiters."""
        return True


class PromptInMemoryLockStore(PromptHandOver, InMemoryLockStore):
    """Rasa's in-memory lock store (one Rasa process) with prompt hand-over."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        """Built by Rasa from endpoints.yml (LOCK_STORE_TYPE); the URL is not used."""
        self.signals = ReleaseSignals()
        super().__init__()


def redis_settings(url: str) -> dict[str, Any]:
    """RedisLockStore keyword arguments from a redis:// URL (a bare host name also works)."""
    if "://" not in url:
        return {"host": url}
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise ValueError("the lock store URL must start with redis:// or rediss://")
    query = parse_qs(parts.query)
    db = parts.path.strip("/")
    settings: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "db": int(db) if db else 1,
        "password": unquote(parts.password) if parts.password else None,
        "username": unquote(parts.username) if parts.username else None,
        "use_ssl": parts.scheme == "rediss",
        "socket_timeout": float(query.get("socket_timeout", ["5"])[0]),
    }
    if query.get("key_prefix"):
        settings["key_prefix"] = query["key_prefix"][0]
    return settings


class AtomicRedisLockStore(PromptHandOver, RedisLockStore):
    """RedisLockStore with transactional ticket issue, update and clean-up, and prompt
    hand-over across processes (a pub/sub message on every release)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        """Built by Rasa from endpoints.yml: `url` is redis://[:password@]host:port/db, with
        an optional `?key_prefix=name` (alphanumeric) to share one Redis between stacks."""
        settings = redis_settings(endpoint_config.url or "redis://127.0.0.1:6379/1")
        settings.update(endpoint_config.kwargs)
        super().__init__(**settings)
        self.key_expiry_s = max(120, int(LOCK_LIFETIME) * 2)
        self.signals = ReleaseSignals()
        self.release_channel = self.key_prefix + RELEASE_CHANNEL
        self.subscribed = threading.Event()  # the listener receives other processes' releases
        self._listener: Optional[threading.Thread] = None
        self._listener_guard = threading.Lock()
        self._listen_for_releases()

    def _announce_release(self, conversation_id: Text) -> None:
        self.signals.notify(conversation_id)  # this process's waiters, at once
        try:
            self.red.publish(self.release_channel, conversation_id)
        except redis.RedisError as error:  # the others fall back to the poll
            logger.warning("lock.release.not_announced error=%s", type(error).__name__)

    def _listen_for_releases(self) -> None:
        with self._listener_guard:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen, daemon=True,
                                                  name="lock-release-listener")
                self._listener.start()

    def _hears_releases(self) -> bool:
        return self.subscribed.is_set()

    def _listen(self) -> None:
        """Thread: wake local waiters when another process releases a lock."""
        while True:
            try:
                pubsub = self.red.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.release_channel)
                pubsub.get_message(timeout=1.0)  # reads the subscription confirmation
                self.subscribed.set()
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        data = message.get("data")
                        self.signals.notify(data.decode("utf-8") if isinstance(data, bytes)
                                            else str(data))
            except Exception as error:  # noqa: BLE001 - reconnect; waiters still poll
                self.subscribed.clear()
                logger.warning("lock.release.listener_failed error=%s", type(error).__name__)
                time.sleep(1.0)

    def _transact(
        self,
        conversation_id: Text,
        change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]],
    ) -> T:
        """Apply `change` to the stored lock atomically; a None lock deletes the key."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _ in range(MAX_TRANSACTION_ATTEMPTS):
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    current = TicketLock.from_dict(json.loads(raw)) if raw else None
                    updated, result = change(current)
                    pipe.multi()
                    if updated is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, updated.dumps(), ex=self.key_expiry_s)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
        raise LockError("lock store transaction kept conflicting")

    def issue_ticket(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME
    ) -> int:
        """Issue the next ticket for the conversation (creating its lock) atomically."""

        def change(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._transact(conversation_id, change)
        except LockError:
            raise
        except Exception as error:  # noqa: BLE001 - Rasa expects LockError here
            raise LockError(f"Error while acquiring lock ({type(error).__name__})") from None

    def update_lock(self, conversation_id: Text) -> None:
        """Drop expired tickets atomically."""

        def change(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is None:
                return None, None
            lock.remove_expired_tickets()
            return lock, None

        self._transact(conversation_id, change)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Return a ticket atomically."""
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Return the ticket and delete the lock if nobody waits, in one transaction."""

        def change(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._transact(conversation_id, change)
        self._announce_release(conversation_id)
