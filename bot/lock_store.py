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
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Optional, Text, Tuple, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import redis  # type: ignore[import-untyped]  # no stubs in the bot environment
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_TRANSACTION_ATTEMPTS = 50


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


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore with transactional ticket issue, update and clean-up."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        """Built by Rasa from endpoints.yml: `url` is redis://[:password@]host:port/db, with
        an optional `?key_prefix=name` (alphanumeric) to share one Redis between stacks."""
        settings = redis_settings(endpoint_config.url or "redis://127.0.0.1:6379/1")
        settings.update(endpoint_config.kwargs)
        super().__init__(**settings)
        self.key_expiry_s = max(120, int(LOCK_LIFETIME) * 2)

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
