"""A queued message takes the conversation lock as soon as it is released, in both lock stores.

Rasa's stores poll the lock once a second (10 messages 50 ms apart for one patient took 8.8 s).
These tests give every waiter a poll interval of an hour: they finish only if the release
itself wakes the next waiter (in the same process, or in another one through Redis). The
30 s limit is a hang guard, not a timing measurement (`make bench` measures the drain).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Iterator, List

import pytest
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore, PromptInMemoryLockStore

NEVER_POLL_S = 3600.0
HANG_GUARD_S = 30.0


async def burst(stores: List[LockStore], conversation: str, count: int) -> List[int]:
    """`count` turns for one conversation, taking tickets in order from the stores in turn."""
    order: List[int] = []

    async def turn(index: int) -> None:
        store = stores[index % len(stores)]
        async with store.lock(conversation, wait_time_in_seconds=NEVER_POLL_S):
            order.append(index)
            await asyncio.sleep(0.01)  # the turn's work

    tasks = []
    for index in range(count):
        tasks.append(asyncio.ensure_future(turn(index)))
        await asyncio.sleep(0)  # tickets are issued in this order
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=HANG_GUARD_S)
    return order


async def test_in_memory_store_hands_over_without_polling() -> None:
    store = PromptInMemoryLockStore()
    assert await burst([store], "patient-1", 10) == list(range(10))
    assert store.get_lock("patient-1") is None
    assert store.signals.waiting() == 0  # no waiter left behind


@pytest.fixture
def redis_stores(redis_url: str) -> Iterator[List[AtomicRedisLockStore]]:
    """Two stores on one Redis, as two Rasa processes have."""
    prefix = "thand" + secrets.token_hex(4)
    url = f"{redis_url}/1?key_prefix={prefix}"
    stores = [AtomicRedisLockStore(EndpointConfig(url=url)) for _ in range(2)]
    yield stores
    for key in stores[0].red.scan_iter(f"{prefix}:*"):
        stores[0].red.delete(key)


@pytest.mark.postgres  # needs the services of scripts/test_services.sh
async def test_redis_store_hands_over_across_processes(
        redis_stores: List[AtomicRedisLockStore]) -> None:
    """Turns alternate between the two stores: every hand-over from one process to the other
    is a release announced through Redis pub/sub."""
    assert await burst(list(redis_stores), "patient-2", 10) == list(range(10))
    assert redis_stores[0].get_lock("patient-2") is None
    assert all(store.signals.waiting() == 0 for store in redis_stores)


@pytest.mark.postgres
async def test_redis_release_reaches_a_waiter_in_another_process(
        redis_stores: List[AtomicRedisLockStore]) -> None:
    first, second = redis_stores
    holder = first.issue_ticket("patient-3")
    waiting = asyncio.ensure_future(
        second._acquire_lock("patient-3", second.issue_ticket("patient-3"), NEVER_POLL_S))
    while second.signals.waiting() == 0:  # the waiter is registered
        await asyncio.sleep(0.01)
    assert await asyncio.to_thread(second.subscribed.wait, HANG_GUARD_S)
    first.cleanup("patient-3", holder)
    lock = await asyncio.wait_for(waiting, timeout=HANG_GUARD_S)
    assert lock.now_serving == 1
