"""bot/safety/gate.py: the patient never gets silence back (bot/never_silent.py's successor).

The gate runs Rasa's turn (`original`, here a stand-in that sends what the test says) and
looks at what it sent: nothing visible for a real message means the clinic's KB
"unavailable" text, or the KB "paused" text when a person from the clinic has paused the
conversation. The texts are the shipped KB's export (tests/kb_export.py); the triage is the
shipped KB patterns. Through the real channels: tests/bot/channels/test_never_silent_channels.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused

from bot.safety.gate import ConversationLanguages, GateSettings, SafetyGate
from bot.safety.triage import Triage
from common.patient_texts import PatientTexts, PatientTextsMissing
from common.patient_texts import load as load_patient_texts
from tests.kb_export import write_export

REPO = Path(__file__).resolve().parents[2]
SHIPPED_VOCABULARY = REPO / "bot" / "generated" / "kb_vocabulary.json"
SENDER = "web:never-silent"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> PatientTexts:
    return load_patient_texts(write_export(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage(SHIPPED_VOCABULARY, use_classifier=False)


def _gate(triage: Triage, export: PatientTexts, texts: Any = None) -> SafetyGate:
    return SafetyGate(triage, ConversationLanguages(), alerts=None,
                      settings=GateSettings(turn_budget_s=5.0),
                      texts=texts or (lambda: export))


class Turn:
    """Rasa's turn as the gate sees it: sends `replies` (or raises), records the message."""

    def __init__(self, replies: Optional[List[Dict[str, Any]]] = None,
                 error: Optional[Exception] = None) -> None:
        self.replies = replies or []
        self.error = error
        self.seen: List[UserMessage] = []

    async def __call__(self, agent: Any, message: UserMessage) -> None:
        self.seen.append(message)
        if self.error is not None:
            raise self.error
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))


class Agent:
    """What the gate reads from Rasa's agent: its tracker store."""

    def __init__(self, store: Any = None) -> None:
        self.tracker_store: Any = store or InMemoryTrackerStore(Domain.empty())


async def _paused_agent() -> Agent:
    agent = Agent()
    tracker = await agent.tracker_store.get_or_create_tracker(SENDER)
    tracker.update(ConversationPaused())
    await agent.tracker_store.save(tracker)
    return agent


class _DownStore:
    async def retrieve(self, sender_id: str) -> None:
        raise ConnectionError("tracker store down")


async def _handle(gate: SafetyGate, text: Optional[str], turn: Turn,
                  agent: Optional[Agent] = None) -> List[Dict[str, Any]]:
    output = CollectingOutputChannel()
    message = UserMessage(text, output, SENDER, input_channel="webchat")
    await gate.handle(agent or Agent(), message, turn)
    return [{k: v for k, v in m.items() if k != "recipient_id"} for m in output.messages]


def _unavailable(export: PatientTexts, language: str = "en") -> List[Dict[str, Any]]:
    return [{"text": export.text("assistant.unavailable", language).text}]


async def test_no_bot_message_gives_the_unavailable_text(triage: Triage,
                                                         export: PatientTexts) -> None:
    turn = Turn()
    assert await _handle(_gate(triage, export), "do I stop my blood thinner?", turn) == \
        _unavailable(export)
    assert len(turn.seen) == 1  # the turn did run


async def test_the_text_is_in_the_patients_language(triage: Triage,
                                                    export: PatientTexts) -> None:
    turn = Turn()
    sent = await _handle(_gate(triage, export), "¿tengo que dejar el sintrom?", turn)
    assert sent == _unavailable(export, "es") and sent != _unavailable(export, "en")
    assert turn.seen[0].metadata["language"] == "es"  # the action server answers in it too


@pytest.mark.parametrize("reply", [
    {"text": "Hello"},
    {"text": None, "buttons": [{"title": "Yes", "payload": "Yes"}]},  # Rasa always sets text
    {"image": "https://clinic.example/map.png"},
    {"custom": {"kind": "card"}},
    {"attachment": "https://clinic.example/leaflet.pdf"},
])
async def test_a_visible_reply_needs_no_net(triage: Triage, export: PatientTexts,
                                            reply: Dict[str, Any]) -> None:
    sent = await _handle(_gate(triage, export), "hi", Turn([reply]))
    assert len(sent) == 1
    assert {k: v for k, v in sent[0].items() if v} == {k: v for k, v in reply.items() if v}


async def test_an_answered_turn_is_sent_once_and_unchanged(triage: Triage,
                                                           export: PatientTexts) -> None:
    replies = [{"text": "Stop 3 days before."}, {"text": "Anything else?"}]
    sent = await _handle(_gate(triage, export), "when do i stop eliquis", Turn(replies))
    assert [m["text"] for m in sent] == ["Stop 3 days before.", "Anything else?"]


@pytest.mark.parametrize("replies", [[{"text": "   "}], [{"text": ""}], [{"buttons": []}],
                                     [{"text": None, "image": None}]])
async def test_invisible_messages_count_as_silence(triage: Triage, export: PatientTexts,
                                                   replies: List[Dict[str, Any]]) -> None:
    assert await _handle(_gate(triage, export), "hi", Turn(replies)) == _unavailable(export)


@pytest.mark.parametrize("text", ["", "  \n", None])
async def test_an_empty_user_message_needs_no_reply(triage: Triage, export: PatientTexts,
                                                    text: Optional[str]) -> None:
    assert await _handle(_gate(triage, export), text, Turn()) == []


async def test_a_failing_turn_gets_the_unavailable_text_and_logs_no_text(
        triage: Triage, export: PatientTexts, caplog: pytest.LogCaptureFixture) -> None:
    turn = Turn(error=RuntimeError("action server said: CANARY-4711"))
    with caplog.at_level(logging.DEBUG):
        sent = await _handle(_gate(triage, export), "my date of birth is CANARY-4712", turn)
    assert sent == _unavailable(export)
    assert "safety.gate.turn_failed error=RuntimeError" in caplog.text
    assert "CANARY" not in caplog.text


async def test_a_paused_conversation_gets_the_paused_text(triage: Triage,
                                                          export: PatientTexts) -> None:
    sent = await _handle(_gate(triage, export), "hello?", Turn(), await _paused_agent())
    assert sent == [{"text": export.text("assistant.paused", "en").text}]


async def test_an_unreadable_tracker_counts_as_not_paused(triage: Triage,
                                                          export: PatientTexts) -> None:
    sent = await _handle(_gate(triage, export), "hello?", Turn(), Agent(_DownStore()))
    assert sent == _unavailable(export)


def test_the_real_export_has_the_clinics_numbers(export: PatientTexts) -> None:
    clinic = export.clinic
    for language in ("en", "es"):
        unavailable = export.text("assistant.unavailable", language)
        assert unavailable.translated and unavailable.entry == \
            f"text.{language}.assistant.unavailable"
        assert str(clinic["phone"]) in unavailable.text
        assert str(clinic["emergency_number"]) in unavailable.text
        assert str(clinic["phone"]) in export.text("assistant.paused", language).text


async def test_without_the_export_the_turn_still_runs(triage: Triage, export: PatientTexts,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """No KB export (`make kb` never ran): the gate cannot answer in the clinic's words, so it
    hands the message to Rasa untouched rather than failing the turn."""
    def missing() -> PatientTexts:
        raise PatientTextsMissing("no export")

    turn = Turn([{"text": "Hello"}])
    with caplog.at_level(logging.ERROR):
        sent = await _handle(_gate(triage, export, texts=missing), "hi", turn)
    assert sent == [{"text": "Hello"}] and len(turn.seen) == 1
    assert "safety.gate.no_texts" in caplog.text
