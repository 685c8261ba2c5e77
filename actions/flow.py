"""Finish what the patient asked before the assistant had to ask "lower back or neck?"."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions import answers
from actions.answers import Reply, Utterance
from actions.base import KbAction, Turn
from actions.blood_thinners import TOPIC as BLOOD_THINNERS
from actions.blood_thinners import ActionAnswerBloodThinners
from actions.kb import repository
from actions.plan_dialogue import feedback_response, shown_candidate
from actions.topics import FLOW_STEP, answer_topic_key

PLAN_DETAILS = frozenset({"procedure_start", "procedure_site"})
FLOW_SLOTS = ("flow_step", "pending_topic", "pending_medications", "medication_reply")


class ActionResumeTopic(KbAction):
    """Answer the pending topic once the site is known.

    Reads: pending_topic (an answer key, or "blood_thinners"), pending_medications.
    """

    def name(self) -> Text:
        """Action name."""
        return "action_resume_topic"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """Re-run the pending answer with the slots now filled."""
        pending = turn.slot("pending_topic")
        if pending == BLOOD_THINNERS:
            return ActionAnswerBloodThinners().compose(session, turn)
        if isinstance(pending, str) and "." in pending:
            reply = answer_topic_key(session, turn, pending)
            reply.events.append(SlotSet("pending_topic", None))
            return reply
        context = answers.load_context(session)
        return Reply(
            messages=[answers.answer(session, context, "assistant.noted", turn.site)],
            events=[SlotSet("pending_topic", None), SlotSet(FLOW_STEP, None)],
        )


class ActionHandleInform(KbAction):
    """A patient volunteers information outside a question: drugs get their rule, else noted."""

    def name(self) -> Text:
        """Action name."""
        return "action_handle_inform"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """Named drugs are answered as a blood-thinner question; a pending topic is resumed."""
        if turn.medications:
            return ActionAnswerBloodThinners().compose(session, turn)
        if turn.slot("pending_topic"):
            return ActionResumeTopic().compose(session, turn)
        if "appointment_feedback" in turn.slots_set_this_turn and turn.slot("appointment_feedback"):
            clinic = repository.get_clinic(session)
            shown = shown_candidate(clinic, turn.slot("appointment_candidate")) if clinic else None
            return Reply(messages=[feedback_response(turn.slot("appointment_feedback"), shown)],
                         events=[SlotSet(FLOW_STEP, None)])
        reset = [SlotSet(FLOW_STEP, None)]
        if turn.slots_set_this_turn & PLAN_DETAILS:
            return Reply(messages=[Utterance(response="utter_details_noted")], events=reset)
        context = answers.load_context(session)
        return Reply(messages=[answers.answer(session, context, "assistant.noted", turn.site)],
                     events=reset)


class ActionResetFlow(Action):
    """After an emergency or a request for a person interrupts a form: forget the half-asked
    question, so the next message starts clean. Needs no database."""

    def name(self) -> Text:
        """Action name."""
        return "action_reset_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """Clear the flow slots."""
        return [SlotSet(name, None) for name in FLOW_SLOTS]
