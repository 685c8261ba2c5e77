"""Collect the appointment, site and medicines for the personal plan, and show the plan.

Why a per-turn extractor: patients volunteer facts in any order and in any message ("it's on
the 5th at 8", "I also take aspirin", "it's my lower back, not my neck"); each fact is kept
once said, corrections replace it, and the plan form only asks for what is still missing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions import answers, personal_plan
from actions.answers import Reply, Utterance
from actions.base import KbAction, Turn
from actions.conversation import conversation_map
from actions.kb import dto, repository
from actions.kb.db import KnowledgeBaseUnavailable
from actions.kb_gateway import query_kb
from actions.plan.dates import AppointmentIssue, ParsedAppointment, parse_appointment

logger = logging.getLogger(__name__)

# Cheap pre-check so ordinary messages never pay for date parsing.
_DATEISH = re.compile(
    r"\d|\b(today|tomorrow|tmrw|tonight|next|this|week|weeks|month|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|jan|feb|mar|"
    r"apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|"
    r"september|october|november|december|morning|afternoon|noon)\b",
    re.IGNORECASE,
)
ANSWER_INTENTS = {"inform", "affirm", "deny", "nlu_fallback"}
_NEGATED_BEFORE = re.compile(r"\b(not|isn'?t|no)\s+(?:my\s+|the\s+|a\s+)?$", re.IGNORECASE)


def _entities(tracker: Tracker, name: str) -> List[Dict[str, Any]]:
    return [e for e in (tracker.latest_message or {}).get("entities", []) or []
            if e.get("entity") == name]


def corrected_site(tracker: Tracker) -> Optional[str]:
    """With both sites named ("lower back, not my neck"), the one that is not negated."""
    mentions = _entities(tracker, "procedure_site")
    if len({m.get("value") for m in mentions}) < 2:
        return None
    text = str((tracker.latest_message or {}).get("text") or "")
    kept = [m["value"] for m in mentions
            if not _NEGATED_BEFORE.search(text[: int(m.get("start") or 0)])]
    return kept[0] if len(set(kept)) == 1 else None


def read_appointment(text: str, clinic: dto.ClinicProfile, now: dt.datetime) -> ParsedAppointment:
    """The appointment in the patient's words, read in the clinic's zone and date order."""
    return parse_appointment(text, now=now, time_zone=clinic.time_zone,
                             date_order=clinic.date_order, opening_hours=clinic.opening_hours)


def appointment_events(
    parsed: ParsedAppointment, clinic: dto.ClinicProfile, current: Optional[dt.datetime]
) -> List[Dict[str, Any]]:
    """Slot events for a reading: a confirmed start, a candidate to confirm, or nothing."""
    if parsed.date is None:
        return []
    time = parsed.time or (current.timetz().replace(tzinfo=None) if current else None)
    reading = ParsedAppointment(parsed.date, time, parsed.issues, parsed.alternative,
                                parsed.part_of_day, parsed.matched_text)
    start = reading.start(clinic.time_zone)
    if start is None:
        return [SlotSet("appointment_candidate", parsed.date.isoformat()),
                SlotSet("appointment_feedback", "need_time")]
    if parsed.issues:
        return [SlotSet("appointment_candidate", start.isoformat()),
                SlotSet("appointment_feedback", parsed.issues[0].value)]
    return [SlotSet("procedure_start", start.isoformat()),
            SlotSet("appointment_candidate", None), SlotSet("appointment_feedback", None)]


class ActionExtractPlanDetails(Action):
    """Runs after every user message (custom slot mapping): keeps what the patient said.

    Sets: procedure_start, appointment_candidate, appointment_feedback, medications_taken
    (and medications_answered once a drug is named), procedure_site (only to resolve
    "X, not Y" corrections).
    """

    def name(self) -> Text:
        """Action name."""
        return "action_extract_plan_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """Never utters; returns slot events only. Emergencies are left untouched."""
        latest = tracker.latest_message or {}
        if (latest.get("intent") or {}).get("name") in {"report_emergency", "request_human"}:
            return []
        events: List[Dict[str, Any]] = []
        named = list(dict.fromkeys(tracker.get_latest_entity_values("medication")))
        taken = list(tracker.get_slot("medications_taken") or [])
        if any(n not in taken for n in named):
            events.append(SlotSet("medications_taken", list(dict.fromkeys(taken + named))))
            events.append(SlotSet("medications_answered", True))
        site = corrected_site(tracker)
        if site:
            events.append(SlotSet("procedure_site", site))
        text = str(latest.get("text") or "")
        if text and not text.startswith("/") and _DATEISH.search(text):
            events.extend(await self._appointment(text, tracker))
        return events

    async def _appointment(self, text: str, tracker: Tracker) -> List[Dict[str, Any]]:
        try:
            clinic = await query_kb(repository.get_clinic)
        except KnowledgeBaseUnavailable:
            return []
        if clinic is None:
            return []
        parsed = read_appointment(text, clinic, personal_plan.now_utc())
        current = personal_plan.procedure_start_from(tracker.get_slot("procedure_start"))
        return appointment_events(parsed, clinic, current)


class ValidatePlanForm(FormValidationAction):
    """Answers to the plan form's questions: confirming a date, or "none" for medicines."""

    def name(self) -> Text:
        """Action name."""
        return "validate_plan_form"

    async def extract_procedure_start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Yes to "did you mean …?" confirms the candidate; an unusable answer asks again."""
        if tracker.get_slot("requested_slot") != "procedure_start":
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        candidate = tracker.get_slot("appointment_candidate")
        feedback = tracker.get_slot("appointment_feedback")
        if intent == "affirm" and candidate and "T" in str(candidate):
            return {"procedure_start": candidate, "appointment_candidate": None,
                    "appointment_feedback": None}
        if intent == "deny" and candidate:
            return {"appointment_candidate": None, "appointment_feedback": "ask_again"}
        if intent in ANSWER_INTENTS and tracker.get_slot("procedure_start") is None:
            # The extractor ran first; if it found nothing usable, say so and ask again.
            return {"appointment_feedback": feedback or "unclear"}
        return {}

    async def extract_medications_answered(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Named drugs, "none", or an unknown name (kept to say "not in our list")."""
        if tracker.get_slot("requested_slot") != "medications_answered":
            return {}
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name")
        text = str(latest.get("text") or "").strip()
        if list(tracker.get_latest_entity_values("medication")):
            return {"medications_answered": True}
        if intent == "deny" or conversation_map().means_none_taken(text):
            return {"medications_answered": True, "medications_taken": []}
        if intent in {"inform", "ask_blood_thinners", "ask_medications", "nlu_fallback"} and text:
            unknown = list(tracker.get_slot("medications_unknown") or [])
            return {"medications_answered": True, "medications_unknown": [*unknown, text]}
        return {}


def feedback_response(feedback: Optional[str], shown: Optional[str]) -> Utterance:
    """The question to ask after an appointment reading that could not be used as it was."""
    if feedback == AppointmentIssue.CLINIC_CLOSED.value and shown:
        return Utterance(response="utter_date_clinic_closed", values=(("date", shown),))
    if feedback == AppointmentIssue.PAST.value:
        return Utterance(response="utter_date_past")
    if feedback == "need_time":
        return Utterance(response="utter_ask_procedure_time")
    if shown and feedback in {i.value for i in AppointmentIssue}:
        return Utterance(response="utter_confirm_procedure_start", values=(("date", shown),))
    if feedback in {"unclear", "ask_again"}:
        return Utterance(response="utter_date_not_understood")
    return Utterance(response="utter_ask_procedure_start")


def shown_candidate(clinic: dto.ClinicProfile, candidate: Any) -> Optional[str]:
    """The candidate appointment as the patient would read it, or None."""
    start = personal_plan.procedure_start_from(candidate)
    if start is None:
        return None
    today = personal_plan.now_utc().astimezone(start.tzinfo).date()
    return personal_plan.PlanFormatter(clinic, today).when(start)


class ActionAskProcedureStart(Action):
    """The plan form's date question, adapted to what went wrong with the last answer."""

    def name(self) -> Text:
        """Action name."""
        return "action_ask_procedure_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        """Confirm a candidate, flag a closed day or past date, or ask plainly."""
        feedback = tracker.get_slot("appointment_feedback")
        candidate = tracker.get_slot("appointment_candidate")
        shown = None
        if candidate:
            try:
                clinic = await query_kb(repository.get_clinic)
            except KnowledgeBaseUnavailable:
                clinic = None
            shown = shown_candidate(clinic, candidate) if clinic else None
        dispatcher.utter_message(**feedback_response(feedback, shown).as_kwargs())
        return []


class ActionShowPlan(KbAction):
    """The checklist: arrival, fasting times, medicine dates, driver, what to bring.

    Reads: procedure_start, procedure_site, medications_taken, medications_unknown.
    """

    def name(self) -> Text:
        """Action name."""
        return "action_show_plan"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """One message (fits 3 SMS segments), with the prescriber reminder if a drug is held."""
        inputs = personal_plan.plan_inputs(session, turn)
        if inputs is None:
            context = answers.load_context(session)
            return Reply(messages=[answers.answer(session, context, "fasting.offer_plan")])
        names = [*(turn.slot("medications_taken") or []), *(turn.slot("medications_unknown") or [])]
        message = personal_plan.checklist(session, inputs, names,
                                          personal_plan.sedation_planned(session, turn))
        return Reply(messages=[message])

