"""Blood thinners: the clinic's hold/restart rule per named drug and the patient's risk class.

Why so careful: this is where procedures get cancelled or patients get hurt. The assistant never
guesses a drug it does not know, never advises on an entry the clinic has not approved, and
every answer that involves stopping a drug ends with "confirm with your prescriber".
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions import answers
from actions.answers import KbContext, Reply, Utterance, echo_safe
from actions.base import KbAction, Turn
from actions.conversation import conversation_map
from actions.kb import dto, repository
from actions.personal_plan import fasting_plan, medication_plan, plan_inputs, sedation_planned
from actions.topics import ASK_MEDICATION, ASK_SITE, FLOW_STEP

TOPIC = "blood_thinners"
NONE_TAKEN = "none"  # medication_reply value when the patient takes no blood thinner

_RULE_KEYS = {
    "continue": "blood_thinners.rule_continue",
    "prescriber_decides": "blood_thinners.rule_prescriber_decides",
    "call_clinic": "blood_thinners.rule_call_clinic",
}


def _rule_utterance(
    session: Session,
    context: KbContext,
    medication: dto.Medication,
    rule: dto.MedicationRule,
    procedure: dto.ProcedureVariant,
) -> Utterance:
    values: dict[str, object] = {
        "drug": medication.generic,
        "brands": ", ".join(medication.brands) or medication.generic,
        "site_name": procedure.name,
    }
    if rule.action == "hold":
        values["restart_hours"] = rule.restart_hours
        if rule.hold_days is not None:
            key, values["hold_days"] = "blood_thinners.rule_hold_days", rule.hold_days
        else:
            key, values["hold_hours"] = "blood_thinners.rule_hold_hours", rule.hold_hours
    else:
        key = _RULE_KEYS[rule.action]
    said = answers.answer(session, context, key, procedure.site, values)
    provenance = medication.provenance
    if provenance is None:
        return said
    return Utterance(
        text=said.text,
        kb_entries=(*said.kb_entries, provenance.entry_id),
        sources=(*said.sources, provenance.source),
    )


def medication_answers(
    session: Session, context: KbContext, names: list[str], site: str
) -> list[Utterance]:
    """One message per drug, then the prescriber reminder if any answer involves stopping."""
    procedure = repository.get_procedure(session, site)
    if procedure is None:
        raise ValueError(f"no approved procedure for site {site}")
    messages: list[Utterance] = []
    involves_stopping = False
    for name in names:
        medication = repository.find_medication(session, name)
        if medication is None:
            messages.append(answers.answer(session, context, "blood_thinners.not_in_list",
                                           site, {"drug_text": echo_safe(name)}))
            continue
        rule = medication.rule_for(procedure.risk_class)
        if rule is None:
            messages.append(answers.answer(session, context, "blood_thinners.not_reviewed",
                                           site, {"drug": medication.generic}))
            continue
        messages.append(_rule_utterance(session, context, medication, rule, procedure))
        involves_stopping |= rule.action in {"hold", "prescriber_decides"} or (
            medication.prescriber_must_approve and rule.action != "continue"
        )
    if involves_stopping:
        messages.append(answers.answer(session, context, "blood_thinners.confirm_prescriber",
                                       site))
    return messages


def other_class_answer(session: Session, turn: Turn) -> Reply | None:
    """"Do I stop my Ozempic?" classified as a blood-thinner question: when every named drug
    belongs to a class outside the hold rules, answer with that class's medicines answer."""
    mapping = conversation_map()
    if not turn.medications or turn.slot("pending_topic"):
        return None
    keys = []
    for name in turn.medications:
        medication = repository.find_medication(session, name)
        if medication is None or medication.drug_class in mapping.blood_thinner_classes:
            return None
        keys.append(mapping.class_subtopics.get(medication.drug_class, "medications.main"))
    context = answers.load_context(session)
    return Reply(
        messages=[answers.answer(session, context, k, turn.site) for k in dict.fromkeys(keys)],
        events=[SlotSet(FLOW_STEP, None)],
    )


def _reset_events() -> list[dict[str, Any]]:
    return [
        SlotSet("pending_topic", None),
        SlotSet("pending_medications", None),
        SlotSet("medication_reply", None),
        SlotSet(FLOW_STEP, None),
    ]


class ActionAnswerBloodThinners(KbAction):
    """Answer a blood-thinner question.

    Reads: medication entities (else pending_medications, else medications_taken),
    medication_reply, procedure_site, procedure_start (then answers with the patient's own
    last-dose dates and fasting times).
    Sets: flow_step (ask_medication / ask_site: rules then run medication_form / site_form),
    pending_topic and pending_medications while it asks; clears them once answered.
    """

    def name(self) -> Text:
        """Action name."""
        return "action_answer_blood_thinners"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """Ask for the drug, then the site, then answer every named drug."""
        context = answers.load_context(session)
        other = other_class_answer(session, turn)
        if other is not None:
            return other
        names = (list(turn.medications) or list(turn.slot("pending_medications") or [])
                 or list(turn.slot("medications_taken") or []))
        reply_text = turn.slot("medication_reply")
        if not names and reply_text == NONE_TAKEN:
            return Reply(
                messages=[answers.answer(session, context, "blood_thinners.none_taken", turn.site)],
                events=_reset_events(),
            )
        if not names and reply_text:
            names = [str(reply_text)]  # not recognised as a catalogue drug: never guessed
        general = answers.answer(session, context, "blood_thinners.general", turn.site)
        if turn.active_form is not None and (not names or turn.site is None):
            # Asked in the middle of another question: answer generally, never start a second
            # form (the one running resumes, and whatever it was collecting is kept).
            return Reply(messages=[general], events=[SlotSet(FLOW_STEP, None)])
        if not names:
            return Reply(
                messages=[general],
                events=[SlotSet("pending_topic", TOPIC), SlotSet(FLOW_STEP, ASK_MEDICATION)],
            )
        if turn.site is None:
            return Reply(events=[
                SlotSet("pending_topic", TOPIC),
                SlotSet("pending_medications", names),
                SlotSet("medication_reply", None),
                SlotSet(FLOW_STEP, ASK_SITE),
            ])
        inputs = plan_inputs(session, turn)
        if inputs is not None:  # appointment known: the patient's own dates
            messages, stopping = medication_plan(session, inputs, names)
            messages.append(fasting_plan(session, inputs, sedation_planned(session, turn)))
            if stopping:
                messages.append(answers.answer(session, context,
                                               "blood_thinners.confirm_prescriber", turn.site))
            return Reply(messages=messages, events=_reset_events())
        return Reply(
            messages=medication_answers(session, context, names, turn.site),
            events=_reset_events(),
        )


class ActionAskMedicationReply(KbAction):
    """The medication form's question ("which blood thinner do you take?") from the KB."""

    def name(self) -> Text:
        """Action name."""
        return "action_ask_medication_reply"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """Ask which medicine, in the clinic's words."""
        context = answers.load_context(session)
        return Reply(messages=[
            answers.answer(session, context, "blood_thinners.ask_which", turn.site)
        ])


class ValidateMedicationForm(FormValidationAction):
    """Keep recognised drug names from the reply; keep unknown text only to say "not in list"."""

    def name(self) -> Text:
        """Action name."""
        return "validate_medication_form"

    async def validate_medication_reply(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """Recognised drugs go to pending_medications; other text is kept as typed."""
        named: List[str] = list(dict.fromkeys(tracker.get_latest_entity_values("medication")))
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text_said = slot_value if isinstance(slot_value, str) else ""
        if not named and (intent == "deny" or conversation_map().means_none_taken(text_said)):
            return {"medication_reply": NONE_TAKEN, "pending_medications": None}
        if named:
            return {"medication_reply": ", ".join(named), "pending_medications": named}
        text: Optional[str] = slot_value if isinstance(slot_value, str) else None
        if not text or not text.strip():
            return {"medication_reply": None}
        return {"medication_reply": text.strip()}
