"""Durable SMS channel state: seen MessageSids, consent (STOP/START), the last offered options and
the delivery status of outbound messages (Twilio's statusCallback; no message text).

Why a database and not memory: Twilio delivers at least once and may retry after a restart, an
opt-out must survive restarts (sending after STOP breaks carrier rules), and "reply 2" must map to
the options the patient actually saw. Every row is keyed by the conversation hash, never by the
phone number, so erasing a patient means deleting one key from three tables.

The calls are synchronous (SQLAlchemy 1.4 Core, the version Rasa 3.6 pins); the channel runs them
with asyncio.to_thread so the event loop never waits on the database. Conversation-id columns
are sized by common/conversation_ids.py; tables an older version created narrower are widened
on first use (PostgreSQL enforces lengths, SQLite does not). In production this is PostgreSQL
(SMS_STATE_DATABASE_URL, by default the tracker database): SQLite is refused there.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy import inspect as inspect_database
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.local_secrets import data_dir
from common.conversation_ids import CONVERSATION_ID_CHARS

DATABASE_URL_ENV = "SMS_STATE_DATABASE_URL"
MESSAGE_SID_CHARS = 64  # Twilio SIDs are 34 characters ("SM" + 32 hex)

metadata = MetaData()

inbound_messages = Table(
    "sms_inbound_messages",
    metadata,
    Column("message_sid", String(MESSAGE_SID_CHARS), primary_key=True),  # one turn per SID
    Column("conversation_hash", String(CONVERSATION_ID_CHARS), nullable=False, index=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

contacts = Table(
    "sms_contacts",
    metadata,
    Column("conversation_hash", String(CONVERSATION_ID_CHARS), primary_key=True),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("notice_sent_at", DateTime(timezone=True), nullable=True),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("consent_changed_at", DateTime(timezone=True), nullable=True),
    Column("last_buttons", Text, nullable=True),  # JSON list of {"title", "payload"}
)

consent_events = Table(
    "sms_consent_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_hash", String(CONVERSATION_ID_CHARS), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # opt_out | opt_in
    Column("keyword", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


delivery_status = Table(
    "sms_delivery_status",
    metadata,
    # One row per outbound message (Twilio's statusCallback): never the message text.
    Column("message_sid", String(MESSAGE_SID_CHARS), primary_key=True),
    Column("conversation_hash", String(CONVERSATION_ID_CHARS), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # queued | sent | delivered | undelivered…
    Column("error_code", String(16), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class ContactState:
    """What the channel needs to know about a number before answering it."""

    notice_sent: bool
    opted_out: bool
    last_buttons: list[dict[str, str]] = field(default_factory=list)


def default_database_url() -> str:
    """$SMS_STATE_DATABASE_URL, else SQLite in $DATA_DIR/sms_state.sqlite3."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    return configured or f"sqlite:///{data_dir() / 'sms_state.sqlite3'}"


class SqliteRefused(RuntimeError):
    """The production profile keeps SMS state in PostgreSQL, never in a local SQLite file."""


def check_production_url(url: str) -> None:
    """Raise SqliteRefused for an SQLite URL when PROFILE=production."""
    if os.environ.get("PROFILE") == "production" and url.startswith("sqlite"):
        raise SqliteRefused(f"production keeps SMS state in PostgreSQL: set {DATABASE_URL_ENV}")


def widen_columns(engine: Engine, tables: list[Table]) -> list[str]:
    """ALTER string columns an older version created shorter than the tables declare
    (PostgreSQL only: SQLite does not enforce lengths); returns the widened columns."""
    if engine.dialect.name != "postgresql":
        return []
    widened = []
    inspector = inspect_database(engine)
    for table in tables:
        if not inspector.has_table(table.name):
            continue
        existing = {column["name"]: column["type"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            wanted = getattr(column.type, "length", None)
            current = getattr(existing.get(column.name), "length", None)
            if wanted and current and current < wanted:
                with engine.begin() as connection:
                    connection.exec_driver_sql(
                        f'ALTER TABLE "{table.name}" ALTER COLUMN "{column.name}" '
                        f"TYPE VARCHAR({int(wanted)})")
                widened.append(f"{table.name}.{column.name}")
    return widened


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _decode_buttons(raw: str | None) -> list[dict[str, str]]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(value, list):
        return []
    return [
        {"title": str(item.get("title", "")), "payload": str(item.get("payload", ""))}
        for item in value
        if isinstance(item, dict)
    ]


class SmsStateStore:
    """Thread-safe access to the SMS tables; the engine and tables are created on first use."""

    def __init__(self, database_url: str | None = None) -> None:
        self._url = database_url or default_database_url()
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The engine, created (with its tables) the first time a call needs it."""
        with self._lock:
            if self._engine is None:
                check_production_url(self._url)
                options: dict[str, Any] = {"future": True}
                if self._url.startswith("sqlite"):
                    options["connect_args"] = {"check_same_thread": False, "timeout": 15}
                    path = self._url.split("///", 1)[-1]
                    if path and path != ":memory:":
                        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                else:  # a restarted database costs no SMS; a dead one fails within seconds
                    options["pool_pre_ping"] = True
                    options["connect_args"] = {"connect_timeout": 3}
                engine = create_engine(self._url, **options)
                metadata.create_all(engine)
                widen_columns(engine, list(metadata.tables.values()))
                self._engine = engine
            return self._engine

    def claim_message(self, message_sid: str, conversation_hash: str) -> bool:
        """Record a MessageSid; False when it was already recorded (a Twilio retry)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(inbound_messages).values(
                        message_sid=message_sid,
                        conversation_hash=conversation_hash,
                        received_at=_now(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def contact(self, conversation_hash: str) -> ContactState:
        """The number's state, creating its row on first contact."""
        with self.engine.begin() as connection:
            row = connection.execute(
                select(contacts).where(contacts.c.conversation_hash == conversation_hash)
            ).first()
        if row is None:
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        insert(contacts).values(
                            conversation_hash=conversation_hash,
                            first_seen_at=_now(),
                            opted_out=False,
                        )
                    )
            except IntegrityError:  # created concurrently by another request
                return self.contact(conversation_hash)
            return ContactState(notice_sent=False, opted_out=False)
        return ContactState(
            notice_sent=row.notice_sent_at is not None,
            opted_out=bool(row.opted_out),
            last_buttons=_decode_buttons(row.last_buttons),
        )

    def set_consent(self, conversation_hash: str, opted_out: bool, keyword: str) -> None:
        """Record an opt-out or opt-in with its keyword and time (the consent audit trail)."""
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(
                update(contacts)
                .where(contacts.c.conversation_hash == conversation_hash)
                .values(opted_out=opted_out, consent_changed_at=now, last_buttons=None)
            )
            connection.execute(
                insert(consent_events).values(
                    conversation_hash=conversation_hash,
                    kind="opt_out" if opted_out else "opt_in",
                    keyword=keyword[:16],
                    created_at=now,
                )
            )

    def mark_notice_sent(self, conversation_hash: str) -> None:
        """Remember that the first-contact notice went out, so it is sent once per number."""
        with self.engine.begin() as connection:
            connection.execute(
                update(contacts)
                .where(contacts.c.conversation_hash == conversation_hash)
                .values(notice_sent_at=_now())
            )

    def set_buttons(self, conversation_hash: str, buttons: list[dict[str, str]]) -> None:
        """Remember the options just offered ("1. Yes 2. No"); an empty list forgets them."""
        with self.engine.begin() as connection:
            connection.execute(
                update(contacts)
                .where(contacts.c.conversation_hash == conversation_hash)
                .values(last_buttons=json.dumps(buttons) if buttons else None)
            )

    def record_delivery(self, message_sid: str, conversation_hash: str, status: str,
                        error_code: str | None) -> None:
        """Record (or update) the delivery status of one outbound message."""
        values = {"conversation_hash": conversation_hash, "status": status[:16],
                  "error_code": (error_code or None) and error_code[:16], "updated_at": _now()}
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(delivery_status).values(message_sid=message_sid,
                                                                  **values))
        except IntegrityError:  # a later status of the same message
            with self.engine.begin() as connection:
                connection.execute(update(delivery_status)
                                   .where(delivery_status.c.message_sid == message_sid)
                                   .values(**values))

    def delivery(self, message_sid: str) -> tuple[str, str | None] | None:
        """(status, error code) recorded for a message, or None."""
        with self.engine.begin() as connection:
            row = connection.execute(select(delivery_status.c.status, delivery_status.c.error_code)
                                     .where(delivery_status.c.message_sid == message_sid)).first()
        return (row.status, row.error_code) if row is not None else None

    def erase(self, conversation_hash: str) -> None:
        """Delete every row for one conversation (erasure requests)."""
        with self.engine.begin() as connection:
            for table in (inbound_messages, contacts, consent_events, delivery_status):
                connection.execute(
                    delete(table).where(table.c.conversation_hash == conversation_hash)
                )
