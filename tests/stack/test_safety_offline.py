"""Emergencies are answered by Rasa alone: no action server, no database needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.stack.conftest import Send

REPO = Path(__file__).resolve().parents[2]
EMERGENCY_NUMBER = yaml.safe_load((REPO / "data/kb/clinic.yml").read_text())["clinic"][
    "emergency_number"]
CLINIC_PHONE = yaml.safe_load((REPO / "data/kb/clinic.yml").read_text())["clinic"]["phone"]

pytestmark = pytest.mark.slow


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
    assert first.startswith("If this is an emergency") and EMERGENCY_NUMBER in first
    assert any(CLINIC_PHONE in r.get("text", "") for r in replies[1:])


def test_emergency_interrupts_a_form_without_action_server(rasa_without_actions: Send) -> None:
    sender = "offline-form"
    rasa_without_actions(sender, "what's my plan")  # plan_form asks for the date
    replies = rasa_without_actions(sender, "my legs went numb and weak after the procedure")
    assert replies and replies[0]["text"].startswith("If this is an emergency")


def test_bot_disclosure_and_greeting_work_offline(rasa_without_actions: Send) -> None:
    assert rasa_without_actions("offline-greet", "hello")
    replies = rasa_without_actions("offline-bot", "am i talking to a real person?")
    assert replies and "automated assistant" in replies[0]["text"]
