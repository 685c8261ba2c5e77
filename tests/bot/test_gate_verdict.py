"""GateVerdictTagger: the gate's verdict becomes the safety intent and the recorded reply, and a
message that did not pass the gate is triaged with the same triage (shipped KB vocabulary)."""

from typing import Any, Dict, Optional

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import gate_verdict
from bot.nlu.gate_verdict import GateVerdictTagger


def run(text: str, metadata: Optional[Dict[str, Any]] = None,
        intent: str = "ask_fasting") -> Message:
    message = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.9}})
    if metadata is not None:
        message.set(METADATA, metadata)
    GateVerdictTagger({}).process([message])
    return message


def entity(message: Message, kind: str) -> Optional[str]:
    found = [e["value"] for e in message.get(ENTITIES, []) if e["entity"] == kind]
    return found[0] if found else None


def test_the_gate_verdict_sets_the_intent_flag_and_reply() -> None:
    triage = {"level": "crisis", "flag": "red_flag.suicidal_thoughts", "text": "Call 988 now."}
    message = run("anything", {"triage": triage})
    assert message.get(INTENT)["name"] == "report_crisis"
    assert entity(message, "triage_text") == "Call 988 now."
    assert entity(message, "red_flag") == "red_flag.suicidal_thoughts"


def test_a_routine_gate_verdict_is_not_triaged_again(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_: str) -> None:
        raise AssertionError("triaged twice")

    monkeypatch.setattr(gate_verdict, "_triage_without_gate", fail)
    message = run("I can't feel my legs", {"triage": {"level": "routine"}})
    assert message.get(INTENT)["name"] == "ask_fasting"


@pytest.mark.parametrize("text, intent", [
    ("Not sure if this is normal but I can't feel my legs", "report_emergency"),
    ("i might be overreacting but my legs are numb since the procedure", "report_emergency"),
    ("with this pain there's no point going on, I'm tired of being alive", "report_crisis"),
    ("no siento las piernas desde la rizolisis", "report_emergency"),
    ("ya no puedo más, quiero quitarme la vida", "report_crisis"),
])
def test_without_the_gate_the_same_triage_decides(text: str, intent: str) -> None:
    message = run(text)
    assert message.get(INTENT)["name"] == intent
    assert entity(message, "triage_text"), "the recorded reply must not be empty"


@pytest.mark.parametrize("text", [
    "when do I have to stop eating before the procedure?",
    "do I need someone to drive me home",
    "¿puedo beber agua antes?",
])
def test_ordinary_questions_keep_their_intent(text: str) -> None:
    message = run(text)
    assert message.get(INTENT)["name"] == "ask_fasting"
    assert entity(message, "triage_text") is None


@pytest.mark.parametrize("text", [
    "ive got a stinking cold and my procedure is on thursday",
    "he empezado antibioticos por una infeccion de orina y la rizolisis es el lunes",
])
def test_an_urgent_category_that_is_also_a_topic_keeps_the_topic_intent(text: str) -> None:
    """The shipped registry gives pre_procedure_illness to the illness topic: the intent is
    report_illness, the gate's urgent reply and alarm are still recorded."""
    message = run(text)
    assert message.get(INTENT)["name"] == "report_illness"
    assert entity(message, "alarm") == "urgent"
    assert entity(message, "red_flag") == "red_flag.pre_procedure_illness"
    assert entity(message, "triage_text"), "the recorded reply must not be empty"


@pytest.mark.parametrize("level, category, intent", [
    ("urgent", "pre_procedure_illness", "report_illness"),
    ("urgent", "wound", "report_urgent"),
    ("urgent", None, "report_urgent"),
    # an emergency is never anything but itself, whatever category it carries
    ("emergency", "pre_procedure_illness", "report_emergency"),
    ("crisis", "pre_procedure_illness", "report_crisis"),
])
def test_the_gates_verdict_category_picks_the_intent(level: str, category: Optional[str],
                                                     intent: str) -> None:
    triage = {"level": level, "flag": "red_flag.x", "category": category, "text": "Call."}
    message = run("anything", {"triage": triage})
    assert message.get(INTENT)["name"] == intent
    assert entity(message, "alarm") == level
    assert entity(message, "triage_text") == "Call."


def test_an_emergency_the_gate_also_read_as_a_crisis_is_remembered_as_a_crisis() -> None:
    """The next unclear messages get the crisis follow-up (triage.after.crisis), which gives
    the crisis line and the emergency number."""
    message = run("some nights I just want to go to sleep and not wake up",
                  {"triage": {"level": "emergency", "flag": "red_flag.collapse",
                              "category": "collapse", "text": "Call 911 now.",
                              "follow_up": "crisis"}})
    assert message.get(INTENT)["name"] == "report_emergency"
    assert entity(message, "alarm") == "crisis"
