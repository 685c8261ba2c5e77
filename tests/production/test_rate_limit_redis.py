"""Rate-limit counters in Redis: every Rasa process counts against the same limit."""

from __future__ import annotations

import secrets

import pytest

from bot.rate_limit import Limit, RateLimits, RedisCounter

pytestmark = pytest.mark.postgres  # needs the services of scripts/test_services.sh


def test_two_processes_share_one_limit(redis_url: str) -> None:
    url = f"{redis_url}/1?key_prefix=trl{secrets.token_hex(4)}"
    first, second = (RateLimits(RedisCounter(url), {"sms_number": Limit(3, 60)})
                     for _ in range(2))
    decisions = [(first if i % 2 == 0 else second).check("sms_number", "sms:" + "a" * 64)
                 for i in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert decisions[3].first_refusal and not decisions[4].first_refusal
    keys = list(first.counter.red.scan_iter(first.counter.prefix + "*"))  # type: ignore[attr-defined]
    assert keys and all(b"sms:" not in key for key in keys)  # a hash, never the id
    assert all(0 < first.counter.red.ttl(key) <= 61 for key in keys)  # type: ignore[attr-defined]


def test_production_uses_the_lock_stores_redis(monkeypatch: pytest.MonkeyPatch,
                                              redis_url: str) -> None:
    monkeypatch.setenv("RATE_LIMIT_STORE", "redis")
    monkeypatch.delenv("RATE_LIMIT_REDIS_URL", raising=False)
    monkeypatch.setenv("LOCK_STORE_URL", f"{redis_url}/1")
    configured = RateLimits.from_env()
    assert isinstance(configured.counter, RedisCounter)
    assert configured.check("web_session", "web:x").allowed
