"""A request for a person while the action server is down gets the gate's "please call" text.

With the action server down, Rasa runs no action_request_human: nothing is recorded, and the
patient must never read "I've passed a note" (the tester saw that promise with no record). The
safety gate answers an empty turn with assistant.unavailable. End to end: tests/production.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage  # noqa: E402

from bot.safety.gate import ConversationLanguages, SafetyGate  # noqa: E402
from bot.safety.triage import Verdict  # noqa: E402
from common.patient_texts import PatientTexts  # noqa: E402

UNAVAILABLE = "Sorry, I can't look that up right now. Please call +1 555 010 0199."
HANDOFF = "I've passed a note to the team."
TEXTS = PatientTexts({"clinic": {"default_language": "en"}, "languages": ["en"], "texts": {
    "en": {"assistant.unavailable": {"text": UNAVAILABLE},
           "assistant.paused": {"text": "Paused."},
           "human.handoff": {"text": HANDOFF}}}})


class Routine:
    def assess(self, text: str, language: Optional[str] = None) -> Verdict:
        return Verdict("routine", None, None, language or "en")

    def is_minimising(self, text: str) -> bool:
        return False



async def action_server_down(agent: Any, message: UserMessage) -> None:
    """Rasa with the action server down: the action fails, its events and messages are lost,
    the turn ends with nothing said (rasa.core.processor logs the error)."""
    return None


async def action_server_refuses(agent: Any, message: UserMessage) -> None:
    raise ConnectionError("Cannot connect to host 127.0.0.1:5055")


async def handed_over(original: Any) -> List[str]:
    gate = SafetyGate(Routine(), ConversationLanguages(()), alerts=None, texts=lambda: TEXTS)
    output = CollectingOutputChannel()
    message = UserMessage("can I talk to a person?", output, "web:patient", input_channel="rest")
    await gate.handle(object(), message, original)
    return [m.get("text") or "" for m in output.messages]


async def test_action_server_down_gets_please_call_never_a_promise() -> None:
    for original in (action_server_down, action_server_refuses):
        assert await handed_over(original) == [UNAVAILABLE]
