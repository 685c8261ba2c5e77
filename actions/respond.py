"""The one action that answers patients: snapshot the turn, run the engine, send the reply.

Why one action: the rules send every question and answer here (data/rules/generated_topics.yml)
so a turn costs one action-server call; the decisions live in actions/conversation/engine.py,
which is pure and tested without Rasa. The KB work runs in a worker thread within the KB time
budget; any failure becomes the clinic's "I can't look that up right now, please call" text
(from the KB export, so it names the clinic's own numbers), and only the exception type is
logged, never patient text.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.conversation import after_alarm
from actions.conversation.engine import Outcome, keep_facts, respond
from actions.conversation.language import kept_language, started_in
from actions.conversation.turn import State, Turn
from actions.kb.db import KnowledgeBaseUnavailable
from actions.kb.snapshot import current_snapshot
from actions.kb_gateway import query_kb
from actions.unavailable import unavailable_text

logger = logging.getLogger(__name__)


def now_utc() -> dt.datetime:
    """The current time (patched in tests)."""
    return dt.datetime.now(dt.timezone.utc)


def turn_from(tracker: Tracker) -> Turn:
    """The latest user message, and the language the conversation started in (the action
    server gets no event history: `session_started_metadata` keeps the first message's)."""
    latest = tracker.latest_message or {}
    language = tracker.get_slot("language")
    turn = Turn.from_parse_data(latest, language if isinstance(language, str) else "",
                                str(tracker.get_latest_input_channel() or ""))
    return replace(turn, previous_language=started_in(tracker.slots))


def decide(session: Session, turn: Turn, state: State, now: dt.datetime,
           alarm: Optional[str] = None, first: Optional[str] = None) -> Outcome:
    """The engine on the current KB (runs in a worker thread); `alarm`: a recent safety alarm's
    level, in whose light an unclear message is answered (actions/.../after_alarm.py);
    `first`: "emergency" or "crisis" when that reply was sent a moment ago, so an answer
    starts with the instruction (the crisis line) again."""
    kb = current_snapshot(session)
    languages = {lang.value for lang in kb.registry.languages}
    language = kept_language(kb.registry, turn.text, turn.language,
                             turn.previous_language if turn.previous_language in languages
                             else kb.clinic.default_language)
    if not language or language not in languages:
        language = kb.clinic.default_language
    turn = replace(turn, language=language)
    followed = after_alarm.follow_up(kb, turn, state, alarm)
    if followed is not None:
        return followed
    outcome = respond(kb, turn, state, now)
    if first in after_alarm.FIRST_LEVELS and outcome.messages:
        return after_alarm.emergency_first(kb, outcome, turn.language, first)
    return outcome


class ActionRespond(Action):
    """Answer the latest message (every topic, follow-up, answer and miss).

    Reads every engine slot (actions/conversation/turn.py `State`) and `language`.
    Sets the slots whose value changed.
    """

    def name(self) -> Text:
        """Action name in domain.yml."""
        return "action_respond"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """Decide in a worker thread; on any failure send the "please call" text."""
        turn = turn_from(tracker)
        answered = turn.values("triage_text")
        if answered and answered[0].strip():
            # The safety gate answered this message (an urgent category that is also a topic,
            # bot/nlu/gate_verdict.py): the transcript records the reply the patient got, and
            # the facts the message gave are kept.
            dispatcher.utter_message(text=answered[0])
            return await _kept_facts(tracker, turn)
        state = State.from_slots(tracker.slots)
        now = now_utc()
        alarm = after_alarm.recent_alarm(tracker.slots, now)
        first = after_alarm.recent_alarm(tracker.slots, now, after_alarm.EMERGENCY_FIRST_WINDOW)
        try:
            outcome = await query_kb(lambda session: decide(session, turn, state, now, alarm,
                                                            first))
        except KnowledgeBaseUnavailable as exc:
            logger.warning("respond.kb_unavailable error=%s", type(exc).__name__)
            _say_unavailable(dispatcher, turn.language)
            return []
        except Exception as exc:  # noqa: BLE001 - any failure must still answer the patient
            logger.error("respond.failed error=%s", type(exc).__name__)
            _say_unavailable(dispatcher, turn.language)
            return []
        for message in outcome.messages:
            dispatcher.utter_message(**message.as_kwargs())
        events = [SlotSet(name, value) for name, value in outcome.state.changes(state).items()]
        if turn.language and outcome.language and outcome.language != turn.language:
            events.append(SlotSet("language", outcome.language))  # the conversation's, kept
        return events


class ActionKeepFacts(Action):
    """Keep the facts of a message the safety gate answered; say nothing.

    Runs after utter_triage (data/rules/generated_topics.yml): "my procedure is at 10 tomorrow
    and honestly I don't want to be here any more" got the crisis line from the gate, and the
    appointment time must not be lost for the questions that come after. Sends no message: the
    patient already has the gate's reply. Any failure only loses these facts.
    """

    def name(self) -> Text:
        """Action name in domain.yml."""
        return "action_keep_facts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """The slots the message's facts change, or nothing."""
        return await _kept_facts(tracker, turn_from(tracker))


async def _kept_facts(tracker: Tracker, turn: Turn) -> List[Dict[Text, Any]]:
    """SlotSet events for the facts in `turn` (no reply); [] on any failure."""
    state = State.from_slots(tracker.slots)
    now = now_utc()

    def facts_only(session: Session) -> Outcome:
        kb = current_snapshot(session)
        language = turn.language if turn.language in {
            lang.value for lang in kb.registry.languages} else kb.clinic.default_language
        return keep_facts(kb, replace(turn, language=language), state, now)

    try:
        outcome = await query_kb(facts_only)
    except Exception as exc:  # noqa: BLE001 - the reply went out; only these facts are lost
        logger.warning("respond.facts_not_kept error=%s", type(exc).__name__)
        return []
    return [SlotSet(name, value) for name, value in outcome.state.changes(state).items()]


def _say_unavailable(dispatcher: CollectingDispatcher, language: str) -> None:
    text = unavailable_text(language)
    if text:
        dispatcher.utter_message(text=text)
