"""Staff alerts: one row per emergency, crisis or urgent detection, never the message text.

    python -m bot.safety.alerts list [--limit 50]      # make alerts: newest first

Why a table of its own, written from the Rasa side: the gate must alert staff even when the
action server is down, so this uses the bot environment's SQLAlchemy (1.4, Core only) and
its own connection. The database is ALERTS_DATABASE_URL, else the KB database
(KB_DATABASE_URL), else SQLite in .data/kb.sqlite3. A row holds the time (UTC), level,
category, KB flag id, the conversation id (already a pseudonym: the channels never use a
phone number or e-mail address as the id) and the channel. No message text is stored or
logged: staff open the conversation itself to read it.

`record` never raises and never waits long (short connect timeouts); the gate calls it from
a worker thread (`record_in_background`) and does not wait for it before replying.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    desc,
    inspect,
    select,
)
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)
# The log line names the conversation by a prefix of its (pseudonymous) id; the full id is in
# the alert record, which staff list with `make alerts`.
CONVERSATION_REF_CHARS = 12

ALERT_LEVELS = ("emergency", "crisis", "urgent")
DEFAULT_SQLITE = Path(".data") / "kb.sqlite3"
CONNECT_TIMEOUT_S = 2

metadata = MetaData()
safety_alert = Table(
    "safety_alert",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("level", String(16), nullable=False),
    Column("category", String(64), nullable=True),
    Column("flag_id", String(80), nullable=True),
    Column("conversation_id", String(128), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
)


@dataclass(frozen=True)
class Alert:
    """One stored alert."""

    id: int
    created_at: dt.datetime  # UTC
    level: str
    category: Optional[str]
    flag_id: Optional[str]
    conversation_id: str
    channel: str


def database_url() -> str:
    """ALERTS_DATABASE_URL, else KB_DATABASE_URL, else SQLite in .data/kb.sqlite3."""
    return (os.environ.get("ALERTS_DATABASE_URL") or os.environ.get("KB_DATABASE_URL")
            or f"sqlite:///{DEFAULT_SQLITE.resolve()}")


def _normalise_url(url: str) -> str:
    """The bot environment has psycopg2 (SQLAlchemy 1.4 has no psycopg 3 dialect)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _safe_url(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{tail}"


class AlertStore:
    """The safety_alert table behind one database URL (created on first use)."""

    def __init__(self, url: Optional[str] = None, *,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.url = _normalise_url(url or database_url())
        self.connect_timeout_s = connect_timeout_s
        self._engine: Optional[Engine] = None
        self._ready = False
        self._lock = threading.Lock()
        self._executor: Optional[ThreadPoolExecutor] = None

    # ------------------------------------------------------------------------------ engine
    def _get_engine(self, create: bool = True) -> Engine:
        with self._lock:
            if self._engine is None:
                if self.url.startswith("sqlite"):
                    path = self.url.split(":///", 1)[-1]
                    if path and path != ":memory:":
                        Path(path).parent.mkdir(parents=True, exist_ok=True)
                    self._engine = create_engine(self.url, future=True, connect_args={
                        "timeout": self.connect_timeout_s, "check_same_thread": False})
                else:
                    self._engine = create_engine(
                        self.url, future=True, pool_pre_ping=True, pool_size=2,
                        connect_args={"connect_timeout": max(1, int(self.connect_timeout_s))})
            if create and not self._ready:
                metadata.create_all(self._engine, tables=[safety_alert], checkfirst=True)
                self._ready = True
            return self._engine

    # ------------------------------------------------------------------------------ write
    def record(self, level: str, category: Optional[str], flag_id: Optional[str],
               conversation_id: str, channel: str,
               created_at: Optional[dt.datetime] = None) -> bool:
        """Store one alert and log one line (no message text). Never raises; False on failure."""
        if level not in ALERT_LEVELS or not conversation_id or not channel:
            logger.warning("safety alert not recorded: level=%s channel=%s (needs one of %s, "
                           "a conversation id and a channel)", level, channel,
                           "/".join(ALERT_LEVELS))
            return False
        when = (created_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        logger.warning("safety alert: level=%s category=%s flag=%s conversation=%s "
                       "channel=%s", level, category or "-", flag_id or "-",
                       conversation_id[:CONVERSATION_REF_CHARS], channel)
        try:
            engine = self._get_engine()
            with engine.begin() as connection:
                connection.execute(safety_alert.insert().values(
                    created_at=when, level=level, category=(category or None) and category[:64],
                    flag_id=(flag_id or None) and flag_id[:80],
                    conversation_id=conversation_id[:128], channel=channel[:32]))
            return True
        except Exception as error:  # noqa: BLE001 - an alert must never break a reply
            logger.error("safety alert could not be stored in %s: %s",
                         _safe_url(self.url), type(error).__name__)
            return False

    def record_verdict(self, verdict: Any, conversation_id: str, channel: str) -> bool:
        """`record` for a triage Verdict (routine verdicts are not recorded)."""
        if getattr(verdict, "level", "routine") == "routine":
            return False
        return self.record(verdict.level, verdict.category, verdict.flag_id, conversation_id,
                           channel)

    def record_in_background(self, level: str, category: Optional[str],
                             flag_id: Optional[str], conversation_id: str,
                             channel: str) -> Future[bool]:
        """`record` on a worker thread; the caller may wait on the future with a timeout."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1,
                                                    thread_name_prefix="safety-alerts")
        return self._executor.submit(self.record, level, category, flag_id, conversation_id,
                                     channel)

    # ------------------------------------------------------------------------------- read
    def list_alerts(self, limit: int = 50) -> List[Alert]:
        """The newest `limit` alerts, newest first (an empty list before the first one)."""
        engine = self._get_engine(create=False)
        if not inspect(engine).has_table(safety_alert.name):
            return []
        query = (select(safety_alert)
                 .order_by(desc(safety_alert.c.created_at), desc(safety_alert.c.id))
                 .limit(max(0, int(limit))))
        with engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [Alert(int(r["id"]), _as_utc(r["created_at"]), str(r["level"]), r["category"],
                      r["flag_id"], str(r["conversation_id"]), str(r["channel"])) for r in rows]

    def close(self) -> None:
        """Stop the worker thread and release the connections."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._engine is not None:
            self._engine.dispose()


def _as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes: they were stored in UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def format_alerts(alerts: Sequence[Alert]) -> str:
    """The staff listing: time (UTC), level, category, conversation id (and channel)."""
    if not alerts:
        return "no safety alerts"
    lines = [f"{'time (UTC)':<20}  {'level':<9}  {'category':<24}  {'conversation':<36}  channel"]
    for alert in alerts:
        lines.append(f"{alert.created_at:%Y-%m-%d %H:%M:%S}  {alert.level:<9}  "
                     f"{(alert.category or '-'):<24}  {alert.conversation_id:<36}  "
                     f"{alert.channel}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`make alerts`: print the newest alerts."""
    parser = argparse.ArgumentParser(prog="alerts", description="List safety alerts.")
    parser.add_argument("command", choices=["list"])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--url", default=None, help="database URL (default: environment)")
    args = parser.parse_args(argv)
    store = AlertStore(args.url)
    try:
        alerts = store.list_alerts(args.limit)
    except Exception as error:  # noqa: BLE001 - print a plain message for staff
        print(f"cannot read alerts from {_safe_url(store.url)}: {type(error).__name__}: "
              f"{error}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(format_alerts(alerts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
