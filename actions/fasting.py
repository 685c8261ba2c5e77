"""Fasting: the clinic's policy, adjusted for whether sedation is planned."""

from __future__ import annotations

from typing import Text

from rasa_sdk.events import SlotSet
from sqlalchemy.orm import Session

from actions import answers
from actions.answers import Reply
from actions.base import KbAction, Turn
from actions.kb import repository
from actions.topics import FLOW_STEP


def sedation_planned(session: Session, turn: Turn) -> bool:
    """The patient's answer, else the clinic's default for the site (sedation if unknown)."""
    said = turn.slot("sedation_planned")
    if isinstance(said, bool):
        return said
    if turn.site:
        procedure = repository.get_procedure(session, turn.site)
        if procedure is not None:
            return procedure.sedation_planned_by_default
    return True


class ActionAnswerFasting(KbAction):
    """Tell the patient when to stop eating and drinking.

    Reads: procedure_site, sedation_planned. Answers from fasting.* KB entries.
    """

    def name(self) -> Text:
        """Action name."""
        return "action_answer_fasting"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """Policy, gum and medicines; or "no fast" without sedation; then the offer to plan."""
        context = answers.load_context(session)
        if not sedation_planned(session, turn) and not context.fasting.applies_without_sedation:
            keys = ["fasting.no_sedation"]
        else:
            keys = ["fasting.policy", "fasting.gum", "fasting.medicines"]
        keys.append("fasting.offer_plan")
        return Reply(
            messages=[answers.answer(session, context, k, turn.site) for k in keys],
            events=[SlotSet(FLOW_STEP, None)],
        )
