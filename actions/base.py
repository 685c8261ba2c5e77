"""Shared shape of every knowledge-base action.

Why an abstract base: rasa_sdk registers every non-abstract Action subclass it finds, so the
base must be abstract; and every action must fail the same safe way ("I can't look that up
right now - please call the clinic") without writing patient data to the logs.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.answers import Reply
from actions.kb.db import KnowledgeBaseUnavailable
from actions.kb_gateway import query_kb

logger = logging.getLogger(__name__)

UNAVAILABLE_RESPONSE = "utter_service_unavailable"


@dataclass(frozen=True)
class Turn:
    """What the action needs from the tracker, copied so worker threads never touch it."""

    intent: str
    text: str
    medications: tuple[str, ...]
    site: Optional[str]
    slots: Mapping[str, Any]
    intent_ranking: tuple[tuple[str, float], ...] = ()
    slots_set_this_turn: frozenset[str] = frozenset()
    active_form: Optional[str] = None  # while a form runs, answers never start another one

    @classmethod
    def from_tracker(cls, tracker: Tracker) -> Turn:
        """Snapshot of the latest user message and the slots."""
        latest = tracker.latest_message or {}
        ranking = tuple(
            (str(i.get("name")), float(i.get("confidence") or 0.0))
            for i in latest.get("intent_ranking", []) or []
        )
        return cls(
            intent=str((latest.get("intent") or {}).get("name") or ""),
            text=str(latest.get("text") or ""),
            medications=tuple(dict.fromkeys(tracker.get_latest_entity_values("medication"))),
            site=tracker.get_slot("procedure_site"),
            slots=dict(tracker.slots),
            intent_ranking=ranking,
            slots_set_this_turn=_slots_set_since_last_user_message(tracker),
            active_form=(tracker.active_loop or {}).get("name"),
        )

    def slot(self, name: str) -> Any:
        """A slot value, None when unset."""
        return self.slots.get(name)


def _slots_set_since_last_user_message(tracker: Tracker) -> frozenset[str]:
    names = set()
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot":
            names.add(str(event.get("name")))
    return frozenset(names)


class KbAction(Action, metaclass=abc.ABCMeta):
    """An action whose reply is composed from the knowledge base in a worker thread."""

    @abc.abstractmethod
    def name(self) -> Text:
        """The action name in domain.yml."""

    @abc.abstractmethod
    def compose(self, session: Session, turn: Turn) -> Reply:
        """Decide the reply; runs in a worker thread with its own session."""

    def turn_from(self, tracker: Tracker) -> Turn:
        """The turn to answer; subclasses may rewrite it (e.g. resuming a pending topic)."""
        return Turn.from_tracker(tracker)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """Compose the reply safely and send it; on any failure send the call-the-clinic reply."""
        turn = self.turn_from(tracker)
        try:
            reply = await query_kb(lambda session: self.compose(session, turn))
        except KnowledgeBaseUnavailable as exc:
            logger.warning("%s: knowledge base unavailable (%s)", self.name(), exc)
            dispatcher.utter_message(response=UNAVAILABLE_RESPONSE)
            return []
        except Exception as exc:  # noqa: BLE001 - any failure must still answer the patient
            # Only the exception type: messages and tracebacks may contain patient text.
            logger.error("%s failed with %s", self.name(), type(exc).__name__)
            dispatcher.utter_message(response=UNAVAILABLE_RESPONSE)
            return []
        for message in reply.messages:
            dispatcher.utter_message(**message.as_kwargs())
        return reply.events
