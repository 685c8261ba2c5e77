"""Messages after a safety alarm (actions/conversation/after_alarm.py), on the shipped KB."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import sessionmaker

from actions.conversation import after_alarm
from actions.conversation.turn import Entity, State, Turn
from actions.kb.db import get_engine
from actions.kb.snapshot import KbSnapshot, build_snapshot

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def kb(kb_url: str) -> KbSnapshot:
    with sessionmaker(get_engine(kb_url))() as session:
        return build_snapshot(session)


def slots(level: str, minutes_ago: float) -> dict[str, str]:
    when = NOW - dt.timedelta(minutes=minutes_ago)
    return {"last_alarm": level, "last_alarm_at": when.isoformat()}


def reply(kb: KbSnapshot, text: str, intent: str, confidence: float, level: str,
          language: str = "en") -> str:
    turn = Turn(text, language, intent, confidence)
    outcome = after_alarm.follow_up(kb, turn, State(), level)
    assert outcome is not None, "expected the follow-up text"
    return " ".join(m.text for m in outcome.messages)


def test_a_recent_alarm_is_read_from_the_slots() -> None:
    assert after_alarm.recent_alarm(slots("emergency", 30), NOW) == "emergency"
    assert after_alarm.recent_alarm(slots("crisis", 11 * 60), NOW) == "crisis"


@pytest.mark.parametrize("value", [
    slots("emergency", 13 * 60),                       # too long ago
    {"last_alarm": "emergency"},                       # no time
    {"last_alarm": "routine", "last_alarm_at": NOW.isoformat()},
    {"last_alarm": "emergency", "last_alarm_at": "yesterday"},
    {"last_alarm": "emergency", "last_alarm_at": (NOW + dt.timedelta(hours=1)).isoformat()},
    {},
])
def test_old_malformed_or_missing_alarms_are_ignored(value: dict[str, str]) -> None:
    assert after_alarm.recent_alarm(value, NOW) is None


def test_an_unclear_message_after_an_emergency_repeats_the_instruction(kb: KbSnapshot) -> None:
    text = reply(kb, "my wife is calling now", "inform", 0.4, "emergency")
    assert text.startswith("If you have not called 911 yet")


def test_after_a_crisis_the_crisis_line_is_given_again_in_the_patients_language(
        kb: KbSnapshot) -> None:
    text = reply(kb, "no voy a hacer nada, estoy harta", "express_anxiety", 0.8, "crisis", "es")
    assert "988" in text and "Gracias" in text  # the US profile's line, in Spanish
    english = reply(kb, "i'm just so tired of everything", "deny", 0.7, "crisis")
    assert "988" in english and "911" in english


def test_after_an_urgent_reply_a_reassurance_still_gets_call_the_clinic(kb: KbSnapshot) -> None:
    text = reply(kb, "no fever, i feel ok otherwise", "deny", 0.7, "urgent")
    assert "+1 555 010 0100" in text and "call 911 now" not in text.lower()


def test_a_clear_preparation_question_is_answered_as_usual(kb: KbSnapshot) -> None:
    question = Turn("can i shower tonight?", "en", "ask_recovery", 0.9)
    assert after_alarm.follow_up(kb, question, State(), "emergency") is None
    several = Turn("water? and gum?", "en", "ask_fasting", 0.4,
                   entities=(Entity("topic", "ask_fasting", 0, 6),))
    assert after_alarm.follow_up(kb, several, State(), "urgent") is None


def test_without_an_alarm_nothing_changes(kb: KbSnapshot) -> None:
    assert after_alarm.follow_up(kb, Turn("hmm", "en", "nlu_fallback", 0.2), State(),
                                 None) is None


def test_soon_after_an_emergency_an_answer_starts_with_the_instruction(kb_url: str) -> None:
    """"ok, and do I take my Xarelto tonight?" a few minutes after "Call 911 now": answered,
    after the instruction again; an hour later, answered as usual."""
    from actions.respond import decide

    question = Turn("ok and can i shower tonight?", "en", "ask_recovery", 0.95)
    assert after_alarm.recent_alarm(slots("emergency", 10), NOW,
                                    after_alarm.EMERGENCY_FIRST_WINDOW) == "emergency"
    assert after_alarm.recent_alarm(slots("emergency", 90), NOW,
                                    after_alarm.EMERGENCY_FIRST_WINDOW) is None
    with sessionmaker(get_engine(kb_url))() as session:
        soon = decide(session, question, State(), NOW, "emergency", first="emergency")
        later = decide(session, question, State(), NOW, "emergency", first=None)
    assert soon.messages[0].text.startswith("First, if you have not called 911")
    assert [m.text for m in soon.messages[1:]] == [m.text for m in later.messages]
    assert "911" not in " ".join(m.text for m in later.messages)


def test_soon_after_a_crisis_an_answer_starts_with_the_crisis_line(kb_url: str) -> None:
    """"no voy a hacer nada, solo estoy agotada. ¿la rizolisis me quitará el dolor?" right
    after the crisis reply: the question is answered, after the crisis line again."""
    from actions.respond import decide

    question = Turn("no voy a hacer nada, solo estoy agotada. ¿la rizolisis me quitará el "
                    "dolor?", "es", "ask_effectiveness", 0.95)
    with sessionmaker(get_engine(kb_url))() as session:
        soon = decide(session, question, State(), NOW, "crisis", first="crisis")
        later = decide(session, question, State(), NOW, "crisis", first=None)
    assert "988" in soon.messages[0].text  # the US example clinic's crisis line
    assert [m.text for m in soon.messages[1:]] == [m.text for m in later.messages]
    assert later.messages and "988" not in " ".join(m.text for m in later.messages)
