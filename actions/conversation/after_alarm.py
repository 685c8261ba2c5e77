"""Messages just after a safety alarm: read in its light, never as a fresh unclear question.

Why: after "Call 911 now…", a patient writes "my wife is calling now", "no fever, I feel ok
otherwise" or "no voy a hacer nada, solo estoy cansada de todo". None of these is a preparation
question, and a "Sorry, I'm not sure I understood" or an unrelated answer would leave the alarm
unanswered. The safety gate records each alarm in the slots `last_alarm` / `last_alarm_at`
(bot/nlu/gate_verdict.py); for a while after it, a message that is not a confident question
about a preparation topic gets the level's follow-up text (triage.after.<level>, KB): call now,
the crisis line, or call the clinic. A clear question ("can I shower tonight?") is answered as
usual. The gate itself still answers a new alarm and a patient who plays one down.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Optional

from actions.conversation.engine import CONFIDENT, Outcome
from actions.conversation.turn import State, Turn
from actions.conversation.writer import Writer
from actions.kb.snapshot import KbSnapshot

ALARM_WINDOW = dt.timedelta(hours=12)
# Soon after an emergency (crisis) reply every answer starts with the instruction (the crisis
# line) again (KB triage.after.emergency_first / crisis_first): "vale, y el Xarelto me lo tomo
# esta noche?" is answered, but calling the emergency number comes first.
FIRST_LEVELS = ("emergency", "crisis")
EMERGENCY_FIRST_WINDOW = dt.timedelta(hours=1)
LEVELS = ("emergency", "crisis", "urgent")
# Topics whose questions are not answered instead of the follow-up: worry after a crisis reply
# is part of the crisis, not an anxiety-about-the-procedure question.
NOT_A_PREPARATION_QUESTION = {"anxiety", "human"}


def recent_alarm(slots: Mapping[str, Any], now: dt.datetime,
                 window: dt.timedelta = ALARM_WINDOW) -> Optional[str]:
    """The level of the last alarm if it was within `window` (slots are never trusted)."""
    level, when = slots.get("last_alarm"), slots.get("last_alarm_at")
    if level not in LEVELS or not isinstance(when, str):
        return None
    try:
        at = dt.datetime.fromisoformat(when)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return str(level) if dt.timedelta(0) <= now - at <= window else None


def is_preparation_question(kb: KbSnapshot, turn: Turn) -> bool:
    """A confident intent of a preparation topic (or several of them)."""
    if turn.values("topic"):
        return True
    topic = kb.registry.topic_for_intent(turn.intent)
    return (topic is not None and topic.id not in NOT_A_PREPARATION_QUESTION
            and turn.confidence >= CONFIDENT)


def follow_up(kb: KbSnapshot, turn: Turn, state: State, level: Optional[str]) -> Optional[Outcome]:
    """The follow-up reply, or None when the message should be answered as usual."""
    if level is None or is_preparation_question(kb, turn):
        return None
    writer = Writer(kb, turn.language)
    message = writer.message(writer.piece(f"triage.after.{level}"))
    return Outcome(writer.finish([message]), state.update(misses=0, pending=None))


def emergency_first(kb: KbSnapshot, outcome: Outcome, language: str,
                    level: str = "emergency") -> Outcome:
    """The answer, after the emergency instruction (or the crisis line) again, soon after an
    emergency (or crisis) reply: "no voy a hacer nada, solo estoy agotada. ¿la rizolisis me
    quitará el dolor?" is answered, and the crisis line is said first."""
    writer = Writer(kb, language)
    first = writer.message(writer.piece(f"triage.after.{level}_first"))
    return Outcome(writer.finish([first]) + list(outcome.messages), outcome.state,
                   outcome.topics, outcome.language)
