"""`make erase` / `make purge` (scripts/erase.py, scripts/purge.py, actions/retention.py) on
SQLite (the local profile) and PostgreSQL (production: the SMS state too, in the tracker
database as run_stack.sh sets it): only the intended rows go, an audit row without content
stays."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest
from prod_harness import ACT_BIN, REPO, admin, with_database

EVENTS_DDL = ("CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
              "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
              "action_name VARCHAR(255), data TEXT)")
HANDOFF_DDL = ("CREATE TABLE handoff_request (id SERIAL PRIMARY KEY, conversation_id "
               "VARCHAR(128), channel VARCHAR(32), created_at TIMESTAMP WITH TIME ZONE, "
               "status VARCHAR(16))")
DAY = 86400.0


class Databases:
    """A tracker DB and a KB DB on one backend, with a tiny SQL helper."""

    def __init__(self, tracker: str, kb: str, run: Callable[[str, str, Tuple[Any, ...]],
                                                             List[Tuple[Any, ...]]]) -> None:
        self.tracker, self.kb, self.run = tracker, kb, run
        self.sms_file: Path | None = None  # SQLite: $DATA_DIR/sms_state.sqlite3

    @property
    def production(self) -> bool:
        return self.tracker.startswith("postgresql")

    def sms_rows(self, sql: str) -> List[Tuple[Any, ...]]:
        """SMS state rows: the tracker database in production, the local file otherwise."""
        if self.production:
            return self.run(self.tracker, sql, ())
        assert self.sms_file is not None
        with closing(sqlite3.connect(self.sms_file)) as connection:
            return connection.execute(sql).fetchall()

    def tracker_rows(self, sql: str, *params: Any) -> List[Tuple[Any, ...]]:
        return self.run(self.tracker, sql, params)

    def kb_rows(self, sql: str, *params: Any) -> List[Tuple[Any, ...]]:
        return self.run(self.kb, sql, params)


def sqlite_run(url: str, sql: str, params: Tuple[Any, ...]) -> List[Tuple[Any, ...]]:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        cursor = connection.execute(sql.replace("%s", "?").replace("SERIAL", "INTEGER"), params)
        rows = cursor.fetchall()
        connection.commit()
        return rows


def pg_run(url: str, sql: str, params: Tuple[Any, ...]) -> List[Tuple[Any, ...]]:
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = list(cursor.fetchall()) if cursor.description else []
        connection.commit()
        return rows
    finally:
        connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def dbs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    if request.param == "sqlite":
        yield Databases(f"sqlite:///{tmp_path / 'tracker.db'}", f"sqlite:///{tmp_path / 'kb.db'}",
                        sqlite_run)
        return
    pg_url = request.getfixturevalue("pg_url")
    tag = "r" + secrets.token_hex(4)
    admin(pg_url, f"CREATE DATABASE {tag}_tracker", f"CREATE DATABASE {tag}_kb")
    try:
        yield Databases(with_database(pg_url, f"{tag}_tracker"),
                        with_database(pg_url, f"{tag}_kb"), pg_run)
    finally:
        admin(pg_url, f"DROP DATABASE IF EXISTS {tag}_tracker", f"DROP DATABASE IF EXISTS {tag}_kb")


def add_events(dbs: Databases, sender: str, start: float, kinds: List[str]) -> None:
    for offset, kind in enumerate(kinds):
        data = {"event": kind, "timestamp": start + offset, "text": f"words of {sender}"}
        dbs.tracker_rows("INSERT INTO events (sender_id, type_name, timestamp, data) "
                         "VALUES (%s, %s, %s, %s)", sender, kind, start + offset, json.dumps(data))


def seed(dbs: Databases, tmp_path: Path) -> Path:
    """Three patients with events and call-back requests, plus SMS state for patient-2."""
    dbs.tracker_rows(EVENTS_DDL)
    dbs.kb_rows(HANDOFF_DDL)
    now = time.time()
    for sender in ("patient-1", "patient-2", "patient-3"):
        add_events(dbs, sender, now - 60, ["action", "session_started", "user", "bot"])
        dbs.kb_rows("INSERT INTO handoff_request (conversation_id, channel, created_at, status) "
                    "VALUES (%s, 'rest', %s, 'open')", sender, dt.datetime.now(dt.timezone.utc))
    statements = [
        "CREATE TABLE sms_inbound_messages (message_sid TEXT PRIMARY KEY, "
        "conversation_hash TEXT, received_at TIMESTAMP WITH TIME ZONE)",
        "CREATE TABLE sms_contacts (conversation_hash TEXT PRIMARY KEY, first_seen_at "
        "TIMESTAMP WITH TIME ZONE, notice_sent_at TIMESTAMP WITH TIME ZONE, opted_out BOOLEAN, "
        "consent_changed_at TIMESTAMP WITH TIME ZONE, last_buttons TEXT)",
        "CREATE TABLE sms_consent_events (id INTEGER PRIMARY KEY, conversation_hash TEXT, "
        "kind TEXT, keyword TEXT, created_at TIMESTAMP WITH TIME ZONE)",
        "INSERT INTO sms_inbound_messages VALUES ('SM1', 'patient-2', '2026-01-01 00:00:00')",
        "INSERT INTO sms_contacts VALUES ('patient-2', '2026-01-01 00:00:00', NULL, false, "
        "NULL, NULL)",
        "INSERT INTO sms_consent_events VALUES (1, 'patient-2', 'opt_out', 'STOP', "
        "'2026-01-01 00:00:00')",
    ]
    sms = tmp_path / "data" / "sms_state.sqlite3"
    if dbs.production:  # in the tracker database, as in production
        for statement in statements:
            dbs.tracker_rows(statement)
        return sms
    sms.parent.mkdir(parents=True, exist_ok=True)
    dbs.sms_file = sms
    with closing(sqlite3.connect(sms)) as connection:
        connection.executescript(";".join(s.replace(" WITH TIME ZONE", "")
                                          .replace("false", "0") for s in statements) + ";")
        connection.commit()
    return sms


def run_script(script: str, args: List[str], dbs: Databases, tmp_path: Path) -> str:
    env = {**os.environ, "TRACKER_STORE_URL": dbs.tracker, "KB_DATABASE_URL": dbs.kb,
           "DATA_DIR": str(tmp_path / "data")}
    env.pop("SMS_STATE_DATABASE_URL", None)
    if dbs.production:
        env["SMS_STATE_DATABASE_URL"] = dbs.tracker
    result = subprocess.run([str(ACT_BIN / "python"), f"scripts/{script}", *args], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def count(dbs: Databases, sender: str) -> int:
    return dbs.tracker_rows("SELECT COUNT(*) FROM events WHERE sender_id = %s", sender)[0][0]


def test_erase_deletes_one_patient_and_audits_without_content(dbs: Databases,
                                                               tmp_path: Path) -> None:
    sms = seed(dbs, tmp_path)
    output = run_script("erase.py", ["--conversation", "patient-2"], dbs, tmp_path)
    assert "patient-2" not in output and "4 events" in output
    assert count(dbs, "patient-2") == 0
    assert count(dbs, "patient-1") == 4 and count(dbs, "patient-3") == 4
    assert [r[0] for r in dbs.kb_rows("SELECT conversation_id FROM handoff_request "
                                      "ORDER BY conversation_id")] == ["patient-1", "patient-3"]
    audit = dbs.kb_rows("SELECT kind, subject_hash, events_deleted, handoffs_deleted, "
                        "sms_rows_deleted, performed_at FROM erasure_audit")
    assert len(audit) == 1
    kind, digest, events, handoffs, sms_rows, performed_at = audit[0]
    assert (kind, events, handoffs, sms_rows) == ("erase", 4, 1, 2)
    assert digest == hashlib.sha256(b"patient-2").hexdigest() and performed_at
    assert "patient-2" not in json.dumps(dbs.kb_rows("SELECT * FROM erasure_audit"), default=str)
    assert dbs.sms_rows("SELECT COUNT(*) FROM sms_contacts")[0][0] == 0
    assert dbs.sms_rows("SELECT COUNT(*) FROM sms_inbound_messages")[0][0] == 0
    # the STOP record is kept: it proves the opt-out and holds no content
    assert dbs.sms_rows("SELECT COUNT(*) FROM sms_consent_events")[0][0] == 1
    assert not (dbs.production and sms.exists())  # production: no SQLite anywhere


def test_purge_deletes_idle_conversations_and_old_sessions(dbs: Databases,
                                                           tmp_path: Path) -> None:
    seed(dbs, tmp_path)
    now = time.time()
    add_events(dbs, "patient-old", now - 100 * DAY, ["action", "session_started", "user", "bot"])
    add_events(dbs, "patient-active", now - 100 * DAY, ["action", "session_started", "user"])
    add_events(dbs, "patient-active", now - 1 * DAY, ["action", "session_started", "slot", "user"])
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=100)
    dbs.kb_rows("INSERT INTO handoff_request (conversation_id, channel, created_at, status) "
                "VALUES ('patient-old', 'rest', %s, 'open')", old)

    output = run_script("purge.py", ["--days", "90"], dbs, tmp_path)

    assert "purged 1 conversations" in output
    assert count(dbs, "patient-old") == 0
    kept = dbs.tracker_rows("SELECT timestamp FROM events WHERE sender_id = 'patient-active'")
    assert len(kept) == 4 and all(t > now - 2 * DAY for (t,) in kept)
    assert all(count(dbs, f"patient-{i}") == 4 for i in (1, 2, 3))
    assert dbs.kb_rows("SELECT COUNT(*) FROM handoff_request")[0][0] == 3
    audit = dbs.kb_rows("SELECT kind, retention_days, conversations, events_deleted, "
                        "handoffs_deleted, subject_hash FROM erasure_audit")
    assert audit == [("purge", 90, 1, 7, 1, None)]


def test_make_targets_call_the_scripts(dbs: Databases, tmp_path: Path) -> None:
    seed(dbs, tmp_path)
    env = {**os.environ, "TRACKER_STORE_URL": dbs.tracker, "KB_DATABASE_URL": dbs.kb,
           "DATA_DIR": str(tmp_path / "data")}
    erase = subprocess.run(["make", "--no-print-directory", "erase", "CONVERSATION=patient-3"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    assert erase.returncode == 0, erase.stderr
    assert count(dbs, "patient-3") == 0
    purge = subprocess.run(["make", "--no-print-directory", "purge", "DAYS=30"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=120, check=False)
    assert purge.returncode == 0 and "purged 0 conversations" in purge.stdout
    usage = subprocess.run(["make", "--no-print-directory", "erase"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert usage.returncode != 0 and "usage" in usage.stderr
