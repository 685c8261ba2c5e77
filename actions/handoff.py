"""Hand the conversation to the clinic team: a record staff can find, written before the reply.

Why a table: staff need a list of patients waiting for a call-back; the record holds only the
conversation id (already a pseudonym) and the time, never what the patient wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from actions.kb.db import KbSettings, KnowledgeBaseUnavailable, get_engine
from actions.kb_gateway import query_kb
from common.conversation_ids import CONVERSATION_ID_CHARS
from common.patient_texts import PatientTextsMissing
from common.patient_texts import load as load_texts

logger = logging.getLogger(__name__)


class RuntimeBase(DeclarativeBase):
    """Tables the running assistant writes (not rebuilt from the KB YAML)."""


class HandoffRequest(RuntimeBase):
    """A patient asked for a person."""

    __tablename__ = "handoff_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(CONVERSATION_ID_CHARS), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")


def record_handoff(session: Session, conversation_id: str, channel: str) -> int:
    """Insert an open request (one per conversation while it is open); returns its id."""
    RuntimeBase.metadata.create_all(session.get_bind())
    existing = session.scalar(
        select(HandoffRequest.id).where(
            HandoffRequest.conversation_id == conversation_id, HandoffRequest.status == "open"
        )
    )
    if existing is not None:
        return existing
    request = HandoffRequest(
        conversation_id=conversation_id,
        channel=channel,
        created_at=dt.datetime.now(dt.timezone.utc),
        status="open",
    )
    session.add(request)
    session.commit()
    return request.id


def open_handoffs(database_url: str | None = None) -> list[HandoffRequest]:
    """Open requests, oldest first (for staff tools and tests)."""
    engine = get_engine(database_url or KbSettings.from_env().database_url)
    RuntimeBase.metadata.create_all(engine)
    with Session(engine) as session:
        return list(session.scalars(
            select(HandoffRequest).where(HandoffRequest.status == "open")
            .order_by(HandoffRequest.created_at)
        ))


class ActionRequestHuman(Action):
    """Record the request, and only then tell the patient a note was passed on.

    If the record cannot be written (database down, timeout), the reply says to call the
    clinic instead: a promise of a call-back that nobody will see is worse than none. The
    assistant does not pause: no one watches the chat live, so the patient can keep asking.
    Sets: handoff_requested (only when the record exists).
    """

    def name(self) -> Text:
        """Action name."""
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """Write the record, then reply with the text that matches what happened."""
        channel = str(tracker.get_latest_input_channel() or "unknown")[:32]
        language = tracker.get_slot("language")
        try:
            await query_kb(lambda s: record_handoff(s, tracker.sender_id, channel))
        except KnowledgeBaseUnavailable as exc:
            logger.error("handoff record not written (%s)", type(exc).__name__)
            _say(dispatcher, HANDOFF_FAILED, language)
            return []
        _say(dispatcher, HANDOFF_DONE, language)
        return [SlotSet("handoff_requested", True)]


HANDOFF_DONE = "human.handoff"
HANDOFF_FAILED = "human.handoff_failed"


def _say(dispatcher: CollectingDispatcher, key: str, language: Any) -> None:
    """A handoff text from the KB export (it works while the KB database is down)."""
    try:
        text = load_texts().text(key, language if isinstance(language, str) else None)
    except PatientTextsMissing:
        return  # the Rasa side's never-silent net answers
    dispatcher.utter_message(text=text.text, kb_entries=[text.entry], kb_sources=[text.source])
