"""Driver: after the requirement, "do you have someone?"; "no" gets the options and contact."""

from __future__ import annotations

from typing import Text

from sqlalchemy.orm import Session

from actions import answers
from actions.answers import Reply, Utterance
from actions.base import KbAction, Turn


class ActionDriverFollowup(KbAction):
    """Respond to the driver form's answer.

    Reads: has_driver.
    """

    def name(self) -> Text:
        """Action name."""
        return "action_driver_followup"

    def compose(self, session: Session, turn: Turn) -> Reply:
        """No driver: the clinic's options and contact. Driver: a short confirmation."""
        if turn.slot("has_driver") is False:
            context = answers.load_context(session)
            return Reply(messages=[
                answers.answer(session, context, "driver.no_driver", turn.site)
            ])
        return Reply(messages=[Utterance(response="utter_driver_confirmed")])
