"""bot/lock_store.py: tickets stay unique and ordered when several processes share Redis."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore, redis_settings

pytestmark = pytest.mark.postgres  # needs the services of scripts/test_services.sh


@pytest.fixture
def stores(redis_url: str) -> Iterator[tuple[AtomicRedisLockStore, AtomicRedisLockStore]]:
    """Two stores on one Redis, as two Rasa processes would have."""
    prefix = "tlock" + secrets.token_hex(4)
    url = f"{redis_url}/1?key_prefix={prefix}"
    first = AtomicRedisLockStore(EndpointConfig(url=url))
    second = AtomicRedisLockStore(EndpointConfig(url=url))
    yield first, second
    for key in first.red.scan_iter(f"{prefix}:*"):
        first.red.delete(key)


def test_redis_url_settings() -> None:
    settings = redis_settings("rediss://:p%40ss@cache.internal:6380/3?key_prefix=clinic")
    assert settings["host"] == "cache.internal" and settings["port"] == 6380
    assert settings["db"] == 3 and settings["password"] == "p@ss"
    assert settings["use_ssl"] is True and settings["key_prefix"] == "clinic"
    assert redis_settings("redis://127.0.0.1:6379")["db"] == 1
    with pytest.raises(ValueError):
        redis_settings("http://127.0.0.1:6379")


def test_concurrent_tickets_from_two_processes_are_unique(
        stores: tuple[AtomicRedisLockStore, AtomicRedisLockStore]) -> None:
    def issue(index: int) -> int:
        return stores[index % 2].issue_ticket("patient-1", lock_lifetime=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(issue, range(200)))
    assert sorted(tickets) == list(range(200))
    lock = stores[0].get_lock("patient-1")
    assert lock is not None and lock.last_issued == 199


def test_cleanup_returns_the_ticket_and_deletes_an_idle_lock(
        stores: tuple[AtomicRedisLockStore, AtomicRedisLockStore]) -> None:
    first, second = stores
    one = first.issue_ticket("patient-2")
    two = second.issue_ticket("patient-2")
    key = first.key_prefix + "patient-2"
    assert 0 < first.red.ttl(key) <= first.key_expiry_s
    first.cleanup("patient-2", one)
    lock = second.get_lock("patient-2")
    assert lock is not None and lock.now_serving == two
    second.cleanup("patient-2", two)
    assert first.get_lock("patient-2") is None


async def test_lock_context_serves_in_ticket_order(
        stores: tuple[AtomicRedisLockStore, AtomicRedisLockStore]) -> None:
    first, _ = stores
    async with first.lock("patient-3", wait_time_in_seconds=0.05) as lock:
        assert lock.now_serving == 0
    assert first.get_lock("patient-3") is None
