"""Answer any preparation topic from the knowledge base, site-aware.

Why one action for most topics: the intent picks the topic, cue words or the named medicine's
class pick a more specific answer, and the KB decides whether the text differs by site (then
the assistant asks "lower back or neck?" first and resumes).
"""

from __future__ import annotations

from typing import Text

from rasa_sdk.events import SlotSet
from sqlalchemy.orm import Session

from actions import answers
from actions.answers import Reply
from actions.base import KbAction, Turn
from actions.conversation import conversation_map
from actions.kb import repository

FLOW_STEP = "flow_step"  # featurized slot: rules run a form when an answer needs more input
ASK_SITE = "ask_site"
ASK_MEDICATION = "ask_medication"
NO_TOPICS_ASK_SITE = {"driver"}  # answered the same for every site, never worth a question


def answer_key_for(session: Session, turn: Turn, topic: str) -> str:
    """`<topic>.main`, or a more specific key chosen by cue words or a named drug's class."""
    mapping = conversation_map()
    cued = mapping.subtopic_for(topic, turn.text)
    if cued:
        return cued
    for name in turn.medications:
        medication = repository.find_medication(session, name)
        if medication is not None:
            sub = mapping.class_subtopics.get(medication.drug_class)
            if sub and sub.startswith(f"{topic}."):
                return sub
    return f"{topic}.main"


def names_bleeding_risk_drug(session: Session, turn: Turn) -> bool:
    """True when the message names a catalogue drug whose class the hold rules cover."""
    classes = conversation_map().blood_thinner_classes
    for name in turn.medications:
        medication = repository.find_medication(session, name)
        if medication is not None and medication.drug_class in classes:
            return True
    return False


def ask_site_first(key: str) -> list[dict[str, object]]:
    """Remember what to answer; a rule then runs site_form and `action_resume_topic` finishes."""
    return [SlotSet("pending_topic", key), SlotSet(FLOW_STEP, ASK_SITE)]


def screening_advice(session: Session, text: str) -> list[answers.Utterance]:
    """Call-the-clinic advice for every screening condition the patient mentions."""
    lowered = text.lower()
    return [
        answers.Utterance(text=item.advice, kb_entries=(item.item_id,),
                          sources=(item.provenance.source,))
        for item in repository.list_screening(session)
        if any(term in lowered for term in item.terms)
    ]


def answer_topic_key(session: Session, turn: Turn, key: str) -> Reply:
    """The reply for an answer key (plus the topic's extras), or a site question first."""
    context = answers.load_context(session)
    topic = key.split(".", 1)[0]
    if (turn.site is None and turn.active_form is None and topic not in NO_TOPICS_ASK_SITE
            and answers.has_site_variants(session, key)):
        return Reply(events=ask_site_first(key))
    keys = [key, *conversation_map().topic_extras.get(topic, [])]
    reply = Reply(messages=[answers.answer(session, context, k, turn.site) for k in keys])
    if topic == "illness":
        reply.messages.extend(screening_advice(session, turn.text))
    reply.events.append(SlotSet(FLOW_STEP, None))
    return reply


class ActionAnswerTopic(KbAction):
    """Answer the topic of the latest intent.

    Reads: procedure_site. Sets: pending_topic (when it must ask the site first).
    """

    def name(self) -> Text:
        """Action name."""
        return "action_answer_topic"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """Pick the answer key for the intent and answer it."""
        topic = conversation_map().intent_topics.get(turn.intent)
        if topic is None:
            return Reply(messages=[answers.Utterance(response="utter_capabilities")])
        if topic == "medications" and names_bleeding_risk_drug(session, turn):
            # "Should I keep taking my Eliquis?" must get the clinic's hold rule, not the
            # general "keep taking your usual medicines" answer.
            from actions.blood_thinners import ActionAnswerBloodThinners

            return ActionAnswerBloodThinners().compose(session, turn)
        return answer_topic_key(session, turn, answer_key_for(session, turn, topic))
