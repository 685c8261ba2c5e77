"""Hand the conversation to the clinic team: a record staff can find, and the bot steps back.

Why a table: staff need a list of patients waiting for a call-back; the record holds only the
conversation id (already a pseudonym) and the time, never what the patient wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from actions.kb.db import KbSettings, KnowledgeBaseUnavailable, get_engine
from actions.kb_gateway import query_kb

logger = logging.getLogger(__name__)


class RuntimeBase(DeclarativeBase):
    """Tables the running assistant writes (not rebuilt from the KB YAML)."""


class HandoffRequest(RuntimeBase):
    """A patient asked for a person."""

    __tablename__ = "handoff_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
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
    """Record the request and pause the bot; the message itself is `utter_handoff` (a rule).

    Sets: handoff_requested.
    """

    def name(self) -> Text:
        """Action name."""
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """Write the record; even if that fails the patient already has the clinic's number."""
        channel = str(tracker.get_latest_input_channel() or "unknown")[:32]
        try:
            await query_kb(lambda s: record_handoff(s, tracker.sender_id, channel))
        except KnowledgeBaseUnavailable as exc:
            logger.error("handoff record not written (%s)", exc)
        return [SlotSet("handoff_requested", True), ConversationPaused()]
