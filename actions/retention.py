"""Erasure of one patient's conversation and the retention purge, with an audit trail.

Why: open-source Rasa has no delete or retention API (rasa#10719); trackers would otherwise
keep every message forever (GDPR Art. 5(1)(e) and 17; reliability-security.md §4, R14, R15).
Both jobs work on the databases directly:

- tracker database (Rasa's `events` table): the conversation's events;
- KB database: `handoff_request` rows (call-back requests) and the `erasure_audit` table;
- SMS state database (bot/channels/sms_state.py), when it exists: processed `MessageSid`s,
  the contact row and the delivery status of outbound messages. Opt-out records
  (`sms_consent_events`) are kept on purpose: they prove the patient's STOP and hold only the
  pseudonym, the keyword and the time.

Lock keys need no erasure: they are deleted after every turn and expire within minutes.
The audit row holds a SHA-256 of the conversation id, the time and the counts, never content.
Runs in the action-server environment (SQLAlchemy 2); scripts/erase.py and scripts/purge.py
are the command lines (`make erase`, `make purge`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import DateTime, Engine, Integer, String, bindparam, delete, inspect, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from actions.handoff import HandoffRequest, RuntimeBase
from actions.kb.db import get_engine

SMS_TABLES_BY_CONVERSATION = ("sms_inbound_messages", "sms_contacts", "sms_delivery_status")


class ErasureAudit(RuntimeBase):
    """One erasure or purge: what kind, when, how much. No conversation content."""

    __tablename__ = "erasure_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # erase | purge
    subject_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    performed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    retention_days: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    events_deleted: Mapped[int] = mapped_column(Integer, default=0)
    handoffs_deleted: Mapped[int] = mapped_column(Integer, default=0)
    sms_rows_deleted: Mapped[int] = mapped_column(Integer, default=0)


@dataclass
class Report:
    """Counts of deleted rows (what the audit row records)."""

    conversations: int = 0
    events_deleted: int = 0
    handoffs_deleted: int = 0
    sms_rows_deleted: int = 0
    subject_hash: Optional[str] = None
    notes: list[str] = field(default_factory=list)


def subject_hash(conversation_id: str) -> str:
    """SHA-256 of the conversation id: lets an auditor confirm a request without the id."""
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()


def _has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def _audit(kb_engine: Engine, kind: str, report: Report, days: Optional[int]) -> None:
    RuntimeBase.metadata.tables[ErasureAudit.__tablename__].create(kb_engine, checkfirst=True)
    with Session(kb_engine) as session:
        session.add(ErasureAudit(
            kind=kind, subject_hash=report.subject_hash,
            performed_at=dt.datetime.now(dt.timezone.utc), retention_days=days,
            conversations=report.conversations, events_deleted=report.events_deleted,
            handoffs_deleted=report.handoffs_deleted, sms_rows_deleted=report.sms_rows_deleted,
        ))
        session.commit()


def erase(conversation_id: str, tracker_url: str, kb_url: str,
          sms_state_url: Optional[str] = None) -> Report:
    """Delete one conversation everywhere it is kept and write the audit row."""
    if not conversation_id.strip():
        raise ValueError("a conversation id is required")
    report = Report(subject_hash=subject_hash(conversation_id))
    tracker = get_engine(tracker_url)
    if _has_table(tracker, "events"):
        with tracker.begin() as conn:
            deleted = conn.execute(text("DELETE FROM events WHERE sender_id = :id"),
                                   {"id": conversation_id}).rowcount
        report.events_deleted = deleted
        report.conversations = 1 if deleted else 0
    kb = get_engine(kb_url)
    if _has_table(kb, "handoff_request"):
        with kb.begin() as conn:
            report.handoffs_deleted = conn.execute(
                text("DELETE FROM handoff_request WHERE conversation_id = :id"),
                {"id": conversation_id}).rowcount
    if sms_state_url:
        sms = get_engine(sms_state_url)
        for table in SMS_TABLES_BY_CONVERSATION:
            if _has_table(sms, table):
                with sms.begin() as conn:
                    report.sms_rows_deleted += conn.execute(
                        text(f"DELETE FROM {table} WHERE conversation_hash = :id"),
                        {"id": conversation_id}).rowcount
    _audit(kb, "erase", report, None)
    return report


def purge(days: int, tracker_url: str, kb_url: str, sms_state_url: Optional[str] = None,
          now: Optional[dt.datetime] = None) -> Report:
    """Delete what is older than `days`; write the audit row.

    - conversations whose last event is older than the cut-off: all their events;
    - in conversations still in use: earlier sessions older than the cut-off (Rasa reads only
      the latest session, and slots are carried into each new session);
    - call-back requests and processed SMS ids older than the cut-off, and SMS contact rows of
      the purged conversations.
    """
    if days < 1:
        raise ValueError("the retention period must be at least one day")
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = now - dt.timedelta(days=days)
    report = Report()
    purged_ids: list[str] = []
    tracker = get_engine(tracker_url)
    if _has_table(tracker, "events"):
        with tracker.begin() as conn:
            purged_ids = [row[0] for row in conn.execute(
                text("SELECT sender_id FROM events GROUP BY sender_id "
                     "HAVING MAX(timestamp) < :cutoff"), {"cutoff": cutoff.timestamp()})]
            for start in range(0, len(purged_ids), 500):
                chunk = purged_ids[start:start + 500]
                params = {f"id{i}": value for i, value in enumerate(chunk)}
                names = ", ".join(f":id{i}" for i in range(len(chunk)))
                report.events_deleted += conn.execute(
                    text(f"DELETE FROM events WHERE sender_id IN ({names})"),
                    params).rowcount
            report.events_deleted += conn.execute(text(
                "DELETE FROM events WHERE timestamp < :cutoff AND timestamp < ("
                " SELECT MAX(s.timestamp) FROM events s"
                " WHERE s.sender_id = events.sender_id AND s.type_name = 'session_started')"),
                {"cutoff": cutoff.timestamp()}).rowcount
        report.conversations = len(purged_ids)
    kb = get_engine(kb_url)
    if _has_table(kb, "handoff_request"):
        with kb.begin() as conn:
            report.handoffs_deleted = conn.execute(
                delete(HandoffRequest).where(HandoffRequest.created_at < cutoff)).rowcount
    if sms_state_url:
        sms = get_engine(sms_state_url)
        if _has_table(sms, "sms_inbound_messages"):
            with sms.begin() as conn:
                report.sms_rows_deleted += conn.execute(
                    text("DELETE FROM sms_inbound_messages WHERE received_at < :cutoff")
                    .bindparams(bindparam("cutoff", type_=DateTime(timezone=True))),
                    {"cutoff": cutoff}).rowcount
        if _has_table(sms, "sms_delivery_status"):
            with sms.begin() as conn:
                report.sms_rows_deleted += conn.execute(
                    text("DELETE FROM sms_delivery_status WHERE updated_at < :cutoff")
                    .bindparams(bindparam("cutoff", type_=DateTime(timezone=True))),
                    {"cutoff": cutoff}).rowcount
        if _has_table(sms, "sms_contacts") and purged_ids:
            with sms.begin() as conn:
                for conversation_id in purged_ids:
                    report.sms_rows_deleted += conn.execute(
                        text("DELETE FROM sms_contacts WHERE conversation_hash = :id"),
                        {"id": conversation_id}).rowcount
    _audit(kb, "purge", report, days)
    return report
