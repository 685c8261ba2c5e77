"""SMS state on PostgreSQL, with real conversation ids: PostgreSQL enforces column lengths,
which SQLite ignores (a String(64) column refused every "sms:" + 64-hex id in production)."""

from __future__ import annotations

import secrets
from typing import Iterator

import pytest
from prod_harness import admin, query, with_database
from sqlalchemy import Column, MetaData, String, Table, create_engine

from bot.channels.sms_state import SmsStateStore, SqliteRefused, metadata
from bot.channels.twilio_secure import conversation_id_for
from common.conversation_ids import (
    CONVERSATION_ID_CHARS,
    SMS_ID_CHARS,
    WEB_ID_CHARS,
    web_conversation_id,
)

pytestmark = pytest.mark.postgres
SECRET = b"s" * 48


@pytest.fixture
def database(pg_url: str) -> Iterator[str]:
    name = "sms" + secrets.token_hex(4)
    admin(pg_url, f"CREATE DATABASE {name}")
    yield with_database(pg_url, name)
    admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_id_formats_fit_the_one_column_size() -> None:
    sms_id = conversation_id_for("+34600000001", SECRET)
    assert len(sms_id) == 68
    assert len(sms_id) == SMS_ID_CHARS
    assert len(web_conversation_id(secrets.token_bytes(16))) == WEB_ID_CHARS
    assert max(SMS_ID_CHARS, WEB_ID_CHARS) <= CONVERSATION_ID_CHARS
    for table in metadata.tables.values():
        if "conversation_hash" in table.columns:
            assert table.columns["conversation_hash"].type.length == CONVERSATION_ID_CHARS


def test_every_sms_state_call_works_on_postgresql(database: str) -> None:
    store = SmsStateStore(database)
    conversation = conversation_id_for("+34600000001", SECRET)
    assert store.claim_message("SM" + "a" * 32, conversation)
    assert not store.claim_message("SM" + "a" * 32, conversation)  # a Twilio retry
    assert store.contact(conversation).notice_sent is False
    store.mark_notice_sent(conversation)
    store.set_buttons(conversation, [{"title": "Yes", "payload": "yes"}])
    assert store.contact(conversation).last_buttons == [{"title": "Yes", "payload": "yes"}]
    store.set_consent(conversation, True, "STOP")
    assert store.contact(conversation).opted_out
    rows = query(database, "SELECT conversation_hash, keyword FROM sms_consent_events")
    assert rows == [(conversation, "STOP")]
    store.erase(conversation)
    assert query(database, "SELECT count(*) FROM sms_contacts") == [(0,)]


def test_tables_created_narrower_by_an_older_version_are_widened(database: str) -> None:
    """A production database where the first SMS created String(64) tables (and failed)."""
    old = MetaData()
    for table in metadata.tables.values():  # the same tables with the old String(64) ids
        Table(table.name, old, *[
            Column(c.name, String(64), primary_key=c.primary_key, nullable=c.nullable)
            if c.name == "conversation_hash" else c.copy() for c in table.columns])
    engine = create_engine(database)
    old.create_all(engine)
    engine.dispose()
    store = SmsStateStore(database)
    conversation = conversation_id_for("+34600000002", SECRET)
    store.contact(conversation)  # would raise StringDataRightTruncation on varchar(64)
    length = query(database, "SELECT character_maximum_length FROM information_schema.columns "
                             "WHERE table_name = 'sms_contacts' AND column_name = "
                             "'conversation_hash'")
    assert length == [(CONVERSATION_ID_CHARS,)]


def test_production_refuses_sqlite_sms_state(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: object) -> None:
    monkeypatch.setenv("PROFILE", "production")
    with pytest.raises(SqliteRefused):
        SmsStateStore(f"sqlite:///{tmp_path}/sms.sqlite3").contact("sms:" + "0" * 64)
