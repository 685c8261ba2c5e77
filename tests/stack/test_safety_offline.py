"""Emergencies are answered by Rasa alone: no action server, no database needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stack.conftest import Send

REPO = Path(__file__).resolve().parents[2]
# The clinic profile `make kb` exported, which the Rasa process answers with (no DATA_DIR set).
EXPORT = REPO / ".data" / "generated" / "patient_texts.json"

pytestmark = pytest.mark.slow


def exported() -> dict:
    if not EXPORT.exists():
        pytest.fail(f"no KB export at {EXPORT}: run `make kb` first")
    return dict(json.loads(EXPORT.read_text(encoding="utf-8")))


def emergency_instruction() -> str:
    """The first sentence of the KB's emergency reply ("Call 911 now or go to ...")."""
    data = exported()
    text = data["texts"][data["clinic"]["default_language"]]["triage.emergency"]["text"]
    return str(text).split(". ")[0] + "."


@pytest.mark.parametrize("text", [
    "I can't feel my legs since the procedure",
    "cant feel my legs",
    "I've lost control of my bladder since yesterday's ablation",
    "I have chest pain and I can't breathe",
])
def test_emergency_instruction_comes_first_without_action_server(
    rasa_without_actions: Send, text: str
) -> None:
    replies = rasa_without_actions(f"offline-{abs(hash(text))}", text)
    assert replies, "the patient must never get silence"
    first = replies[0]["text"]
    # The safety gate's direct instruction, never "If this is an emergency...".
    assert first.startswith(emergency_instruction()), first
    assert exported()["clinic"]["emergency_number"] in first.split(". ")[0]


def test_emergency_interrupts_a_form_without_action_server(rasa_without_actions: Send) -> None:
    sender = "offline-form"
    rasa_without_actions(sender, "what's my plan")  # plan_form asks for the date
    replies = rasa_without_actions(sender, "my legs went numb and weak after the procedure")
    assert replies and replies[0]["text"].startswith(emergency_instruction())


def test_greeting_and_disclosure_question_are_never_silent_offline(
        rasa_without_actions: Send) -> None:
    # Every answer comes from action_respond now (single-action design), so without the
    # action server these get the gate's "please call" text, not their own answers.
    phone = exported()["clinic"]["phone"]
    for sender, text in (("offline-greet", "hello"),
                         ("offline-bot", "am i talking to a real person?")):
        replies = rasa_without_actions(sender, text)
        assert replies and phone in replies[0]["text"]
