"""Fasting: the clinic's policy, adjusted for whether sedation is planned."""

from __future__ import annotations

from typing import Text

from rasa_sdk.events import SlotSet
from sqlalchemy.orm import Session

from actions import answers
from actions.answers import Reply
from actions.base import KbAction, Turn
from actions.personal_plan import fasting_plan, plan_inputs, sedation_planned
from actions.topics import FLOW_STEP


class ActionAnswerFasting(KbAction):
    """Tell the patient when to stop eating and drinking.

    Reads: procedure_site, sedation_planned, procedure_start. With a known appointment and site,
    the patient's own cut-off times (plan.fasting_cutoffs); otherwise the rule and the offer.
    """

    def name(self) -> Text:
        """Action name."""
        return "action_answer_fasting"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """Policy, gum and medicines; or "no fast" without sedation; then the offer to plan."""
        context = answers.load_context(session)
        sedation = sedation_planned(session, turn)
        inputs = plan_inputs(session, turn)
        if inputs is not None:  # the patient's own clock times
            messages = [fasting_plan(session, inputs, sedation),
                        answers.answer(session, context, "fasting.medicines", turn.site)]
            return Reply(messages=messages, events=[SlotSet(FLOW_STEP, None)])
        if not sedation and not context.fasting.applies_without_sedation:
            keys = ["fasting.no_sedation"]
        else:
            keys = ["fasting.policy", "fasting.gum", "fasting.medicines"]
        keys.append("fasting.offer_plan")
        return Reply(
            messages=[answers.answer(session, context, k, turn.site) for k in keys],
            events=[SlotSet(FLOW_STEP, None)],
        )
