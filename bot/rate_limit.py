"""Rate limits per web session, per client address and per phone number.

Why: nothing limited the patient channels (100 `/session` requests in 0.03 s, 40 messages on
one token, never a 429): one client could take the single Rasa event loop from every other
patient, and SMS replies cost money. Each limit is "count/window_seconds", a fixed window per
subject, from the environment (README "Rate limits"):

| Variable | Default | Counts |
|---|---|---|
| RATE_LIMIT_WEB_SESSION | 20/60 | web chat messages per session |
| RATE_LIMIT_WEB_ADDRESS | 60/60 | web chat messages per client address |
| RATE_LIMIT_WEB_NEW_SESSIONS | 20/60 | new web chat sessions per client address |
| RATE_LIMIT_SMS_NUMBER | 10/60 | SMS per phone number (its conversation id) |

"0/…" (or "off") turns a limit off. Counters live in memory (the local profile: one Rasa
process) or in Redis (RATE_LIMIT_STORE=redis, RATE_LIMIT_REDIS_URL, by default the lock
store's Redis: the production profile), so every Rasa process shares them. Keys hold a hash of
the subject, never an address or number, and expire with their window. If Redis fails the
limit is not applied (one warning line): patients are answered rather than refused.

What the channels do over a limit: the message is triaged first (the safety gate's triage) and
an emergency is answered as usual — a limit never keeps an emergency from its instruction;
anything else gets the KB text `assistant.rate_limited` (which names the emergency number):
as a 429 JSON body on the web chat, as one SMS reply per window on SMS. STOP/START/HELP are
never limited.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol, Tuple

logger = logging.getLogger(__name__)

STORE_ENV = "RATE_LIMIT_STORE"
REDIS_URL_ENV = "RATE_LIMIT_REDIS_URL"
TRUSTED_PROXIES_ENV = "RATE_LIMIT_TRUSTED_PROXIES"
DEFAULTS = {
    "web_session": ("RATE_LIMIT_WEB_SESSION", "20/60"),
    "web_address": ("RATE_LIMIT_WEB_ADDRESS", "60/60"),
    "web_new_session": ("RATE_LIMIT_WEB_NEW_SESSIONS", "20/60"),
    "sms_number": ("RATE_LIMIT_SMS_NUMBER", "10/60"),
}
RATE_LIMITED_KEY = "assistant.rate_limited"
MAX_MEMORY_KEYS = 100_000


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `window_s` seconds; count 0 means no limit."""

    count: int
    window_s: float

    @classmethod
    def parse(cls, raw: str) -> Limit:
        """"20/60" -> 20 per 60 s; "off" or "0/…" -> no limit. ValueError otherwise."""
        text = raw.strip().lower()
        if text in {"off", "none", "0"}:
            return cls(0, 60.0)
        count, _, window = text.partition("/")
        limit = cls(int(count), float(window or 60))
        if limit.count < 0 or limit.window_s <= 0:
            raise ValueError(f"not a rate limit: {raw!r}")
        return limit

    @property
    def enabled(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit."""

    allowed: bool
    count: int
    retry_after_s: int
    limit: int = 0

    @property
    def first_refusal(self) -> bool:
        """The first hit over the limit in this window (SMS: the one that gets a reply)."""
        return not self.allowed and self.count == self.limit + 1


class Counter(Protocol):
    """Counts hits per key and window."""

    def hit(self, key: str, window: int, window_s: float) -> int:
        """Add one hit to (key, window) and return the window's count."""


class MemoryCounter:
    """Fixed-window counters in this process (the local profile)."""

    def __init__(self) -> None:
        self._counts: Dict[str, Tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int, window_s: float) -> int:
        with self._lock:
            current_window, count = self._counts.get(key, (window, 0))
            count = count + 1 if current_window == window else 1
            if len(self._counts) >= MAX_MEMORY_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= window}
            self._counts[key] = (window, count)
            return count


class RedisCounter:
    """Fixed-window counters in Redis, shared by every Rasa process (INCR + EXPIRE, atomic)."""

    def __init__(self, url: str) -> None:
        import redis  # type: ignore[import-untyped]

        from bot.lock_store import redis_settings

        settings = redis_settings(url)
        prefix = settings.pop("key_prefix", "")
        settings.pop("use_ssl", None)
        self.prefix = (prefix + ":" if prefix else "") + "ratelimit:"
        self.red = redis.StrictRedis(ssl=url.startswith("rediss://"), **settings)

    def hit(self, key: str, window: int, window_s: float) -> int:
        name = f"{self.prefix}{key}:{window}"
        with self.red.pipeline() as pipe:  # MULTI/EXEC
            pipe.incr(name)
            pipe.expire(name, int(window_s) + 1)
            count, _ = pipe.execute()
        return int(count)


def subject_key(kind: str, subject: str) -> str:
    """The counter key of a subject: its kind and a hash, never the address or number."""
    return kind + ":" + hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]


class RateLimits:
    """The four limits and their counter."""

    def __init__(self, counter: Counter, limits: Optional[Dict[str, Limit]] = None,
                 clock: Any = time.time) -> None:
        self.counter = counter
        self.limits = {kind: Limit.parse(default) for kind, (_, default) in DEFAULTS.items()}
        self.limits.update(limits or {})
        self._clock = clock
        self._warned = False

    @classmethod
    def from_env(cls) -> RateLimits:
        """Limits and store from the environment (module docstring)."""
        limits = {kind: Limit.parse(os.environ.get(env) or default)
                  for kind, (env, default) in DEFAULTS.items()}
        store = (os.environ.get(STORE_ENV) or "memory").strip().lower()
        if store == "redis":
            url = os.environ.get(REDIS_URL_ENV) or os.environ.get("LOCK_STORE_URL") or \
                "redis://127.0.0.1:6379/1"
            counter: Counter = RedisCounter(url)
        elif store == "memory":
            counter = MemoryCounter()
        else:
            raise ValueError(f"{STORE_ENV} must be memory or redis (got {store!r})")
        return cls(counter, limits)

    def check(self, kind: str, subject: str) -> Decision:
        """Count one hit of `subject` against the `kind` limit."""
        limit = self.limits[kind]
        if not limit.enabled:
            return Decision(True, 0, 0)
        now = self._clock()
        window = int(now // limit.window_s)
        try:
            count = self.counter.hit(subject_key(kind, subject), window, limit.window_s)
        except Exception as error:  # noqa: BLE001 - answer patients rather than refuse them
            if not self._warned:
                logger.warning("rate_limit.store_unavailable error=%s (limits not applied)",
                               type(error).__name__)
                self._warned = True
            return Decision(True, 0, 0)
        retry_after = max(1, int((window + 1) * limit.window_s - now + 0.999))
        return Decision(count <= limit.count, count, retry_after, limit.count)

    async def acheck(self, kind: str, subject: str) -> Decision:
        """`check` off the event loop when the counter is Redis (a network call)."""
        if isinstance(self.counter, MemoryCounter):
            return self.check(kind, subject)
        return await asyncio.to_thread(self.check, kind, subject)


_shared: Optional[RateLimits] = None
_shared_lock = threading.Lock()


def shared_limits() -> RateLimits:
    """The process's limits (one counter for every channel), built from the environment."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RateLimits.from_env()
        return _shared


def client_address(request: Any) -> str:
    """The client's address: the peer, or the address the Nth trusted proxy saw
    (RATE_LIMIT_TRUSTED_PROXIES=N, counted from the right of X-Forwarded-For)."""
    try:
        proxies = int(os.environ.get(TRUSTED_PROXIES_ENV) or 0)
    except ValueError:
        proxies = 0
    peer = str(getattr(request, "ip", "") or "")
    if proxies <= 0:
        return peer
    forwarded = [part.strip() for part in
                 str(request.headers.get("x-forwarded-for", "")).split(",") if part.strip()]
    return forwarded[-proxies] if len(forwarded) >= proxies else peer


def is_emergency(text: str) -> bool:
    """Whether the safety gate's triage raises an alarm for the text (None gate: False)."""
    from bot import runtime_guards
    from bot.safety.gate import ALARM_LEVELS

    gate = runtime_guards.current_gate()
    if gate is None:
        return False
    try:
        return gate.triage.assess(text).level in ALARM_LEVELS
    except Exception as error:  # noqa: BLE001 - a failing triage must not refuse a patient
        logger.error("rate_limit.triage_failed error=%s", type(error).__name__)
        return True


def rate_limited_text(language: Optional[str] = None) -> str:
    """The KB text for a refused message (it names the emergency number)."""
    from common.patient_texts import load

    return load().text(RATE_LIMITED_KEY, language).text
