"""The patient channels are never silent: through the real web chat and SMS channels, with the
safety gate installed the way `rasa run` installs it, a turn that produces no message gets the
clinic's KB "unavailable" text (or the KB "paused" text when a person from the clinic has the
conversation), and an answered turn reaches the patient unchanged.

The wiring is the production one: bot/runtime_guards.install_gate wraps Rasa's
`Agent.handle_message` (the one entry point every channel calls) with bot/safety/gate.py. Only
Rasa's processor behind it is replaced (FakeAgent.handle_message: records the turn, answers
with what the test's responder says, keeps the tracker), the triage runs on the shipped KB
patterns without fitting the classifier, and alerts go to a list. The texts are the shipped
KB's export for the US example clinic (tests/kb_export.py).
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import requests
from channel_harness import CLINIC, FakeAgent, Reply, Responder, echo_responder
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused
from twilio.request_validator import RequestValidator

import bot.runtime_guards as runtime_guards
import bot.safety.alerts as alerts_module
import bot.safety.triage as triage_module
from bot.channels.sms_state import SmsStateStore
from bot.channels.twilio_secure import SecureTwilioInput, SmsTexts, conversation_id_for
from bot.channels.web_sessions import WebSessionSigner
from bot.channels.webchat import WebChatInput, parse_allowed_origins
from common.patient_texts import PatientTexts

AUTH_TOKEN = "never-silent-auth-token-0123456789abcdef"
ID_SECRET = b"never-silent-id-secret-0123456789abcdefgh"
SESSION_SECRET = b"never-silent-secret-0123456789abcdefghij"
PHONE = "+15550104343"
WEBHOOK = "/webhooks/twilio/webhook"
SHIPPED_VOCABULARY = Path(__file__).resolve().parents[3] / "bot" / "generated" / \
    "kb_vocabulary.json"
_sid = [0]


class RasaAgent(Agent):
    """A real rasa Agent (so the installed gate is what handles its messages) with a test
    responder and an in-memory tracker store."""

    def __init__(self, responder: Responder) -> None:
        super().__init__(tracker_store=InMemoryTrackerStore(Domain.empty()))
        self.responder = responder
        self.received: List[UserMessage] = []
        self.finished: List[UserMessage] = []


class Alerts:
    """Stands in for bot.safety.alerts.AlertStore (no database)."""

    recorded: List[Dict[str, Any]] = []

    def record(self, **fields: Any) -> None:
        self.recorded.append(fields)


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch, export_dir: Path) -> Callable[..., None]:
    """Install the safety gate over Agent.handle_message as bot/runtime_guards does."""

    def run(turn_budget_s: float = 5.0) -> None:
        monkeypatch.setenv("DATA_DIR", str(export_dir))
        monkeypatch.setenv("TURN_BUDGET_S", str(turn_budget_s))
        monkeypatch.setattr(Agent, "handle_message", FakeAgent.handle_message)
        monkeypatch.setattr(triage_module, "Triage", _patterns_only)
        monkeypatch.setattr(alerts_module, "AlertStore", Alerts)
        monkeypatch.setattr(runtime_guards, "_gate", None)
        runtime_guards.install_gate(runtime_guards.action_timeout_s())
        assert runtime_guards.current_gate() is not None

    return run


_REAL_TRIAGE = triage_module.Triage


def _patterns_only(**_: Any) -> Any:
    return _REAL_TRIAGE(SHIPPED_VOCABULARY, use_classifier=False)


async def silent(message: UserMessage) -> List[Reply]:
    """A turn that answers nothing (what Rasa 3.6 does when a custom action fails)."""
    return []


async def blank(message: UserMessage) -> List[Reply]:
    """Messages with nothing visible in them."""
    return [{"text": "   "}, {"text": ""}]


async def failing(message: UserMessage) -> List[Reply]:
    raise ConnectionError("Cannot connect to host 127.0.0.1:5055")


async def hanging(message: UserMessage) -> List[Reply]:
    """A turn stuck on the action server; cancelled when the test server stops."""
    await asyncio.sleep(3600)
    return []


async def answering(message: UserMessage) -> List[Reply]:
    return [{"text": "Stop 3 days before."},
            {"text": "Anything else?", "buttons": [{"title": "Yes", "payload": "Yes"},
                                                   {"title": "No", "payload": "No"}]}]


# ------------------------------------------------------------------------------ channels
class Web:
    def __init__(self, make_server: Any, agent: Any) -> None:
        self.signer = WebSessionSigner(SESSION_SECRET, 3600)
        channel = WebChatInput(allowed_origins=parse_allowed_origins("https://www.clinic.example"),
                               signer=self.signer, clinic=CLINIC)
        self.base = make_server(channel, agent).base_url + "/webhooks/webchat"
        self.token = requests.post(self.base + "/session", timeout=10).json()["token"]

    @property
    def sender_id(self) -> str:
        session = self.signer.verify(self.token)
        assert session is not None
        return session.sender_id

    def send(self, text: str) -> List[Dict[str, Any]]:
        return list(self.reply(text)["messages"])

    def reply(self, text: str) -> Dict[str, Any]:
        """The whole JSON answer (messages and the conversation's language)."""
        reply = requests.post(self.base + "/message", json={"message": text},
                              headers={"Authorization": f"Bearer {self.token}"}, timeout=20)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())


class Sms:
    def __init__(self, make_server: Any, agent: Any, tmp_path: Path,
                 texts: PatientTexts) -> None:
        channel = SecureTwilioInput(
            account_sid="AC" + "0" * 32, auth_token=AUTH_TOKEN, twilio_number="+15550100000",
            store=SmsStateStore(f"sqlite:///{tmp_path / 'sms_state.sqlite3'}"),
            id_secret=ID_SECRET, texts=SmsTexts(texts))
        self.url = make_server(channel, agent).base_url + WEBHOOK
        self.sender_id = conversation_id_for(PHONE, ID_SECRET)

    def send(self, text: str) -> List[str]:
        _sid[0] += 1
        fields = {"MessageSid": f"SM{_sid[0]:032d}", "AccountSid": "AC" + "0" * 32,
                  "From": PHONE, "To": "+15550100000", "Body": text, "NumMedia": "0"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(self.url, fields)
        reply = requests.post(self.url, data=fields, headers={"X-Twilio-Signature": signature},
                              timeout=20)
        assert reply.status_code == 200, reply.text
        return [element.text or "" for element in ET.fromstring(reply.text).findall("Message")]


def _texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("text", "") for m in messages]


def _pause(agent: Any, sender_id: str) -> None:
    async def pause() -> None:
        tracker = await agent.tracker_store.get_or_create_tracker(sender_id)
        tracker.update(ConversationPaused())
        await agent.tracker_store.save(tracker)

    asyncio.run(pause())


# ------------------------------------------------------------------------------ silent turns
@pytest.mark.parametrize("responder", [silent, blank, failing], ids=["silent", "blank", "error"])
def test_a_web_chat_turn_without_an_answer_gets_the_unavailable_text(
    make_server: Any, install: Callable[..., None], patient_texts: PatientTexts,
    responder: Responder,
) -> None:
    install()
    agent = RasaAgent(responder)
    messages = Web(make_server, agent).send("when do i stop eliquis")
    assert len(agent.received) == 1  # the turn ran and produced nothing visible
    assert messages == [{"text": patient_texts.text("assistant.unavailable", "en").text}]


@pytest.mark.parametrize("responder", [silent, blank, failing], ids=["silent", "blank", "error"])
def test_an_sms_turn_without_an_answer_gets_the_unavailable_text(
    make_server: Any, install: Callable[..., None], patient_texts: PatientTexts,
    tmp_path: Path, responder: Responder,
) -> None:
    install()
    agent = RasaAgent(responder)
    texts = Sms(make_server, agent, tmp_path, patient_texts).send("when do i stop eliquis")
    assert len(agent.received) == 1
    assert texts == [patient_texts.text("assistant.unavailable", "en").text,
                     patient_texts.text("sms.notice", "en").text]  # the reply comes first


def test_the_unavailable_text_is_the_clinics_and_in_the_patients_language(
    make_server: Any, install: Callable[..., None], patient_texts: PatientTexts,
) -> None:
    install()
    web = Web(make_server, RasaAgent(silent))
    spanish = web.send("¿tengo que dejar el sintrom antes del procedimiento?")
    assert _texts(spanish) == [patient_texts.text("assistant.unavailable", "es").text]
    english = patient_texts.text("assistant.unavailable", "en").text
    assert _texts(spanish) != [english]
    assert str(patient_texts.clinic["phone"]) in english
    assert str(patient_texts.clinic["emergency_number"]) in english


def test_the_web_chat_reply_names_the_language_the_gate_answered_in(
    make_server: Any, install: Callable[..., None],
) -> None:
    """The widget switches its labels to it (web/widget.js switchLanguage)."""
    install()
    web = Web(make_server, RasaAgent(answering))
    assert web.reply("do i need a driver")["language"] == "en"
    assert web.reply("¿necesito que alguien me lleve a casa después?")["language"] == "es"
    assert web.reply("ok")["language"] == "es"  # a short message keeps the conversation's
    assert web.reply("English please")["language"] == "en"


def test_a_turn_past_the_budget_gets_the_unavailable_text_while_it_still_runs(
    make_server: Any, install: Callable[..., None], patient_texts: PatientTexts,
) -> None:
    install(turn_budget_s=0.3)
    agent = RasaAgent(hanging)
    messages = Web(make_server, agent).send("when do i stop eliquis")
    assert len(agent.received) == 1 and agent.finished == []  # still stuck
    assert _texts(messages) == [patient_texts.text("assistant.unavailable", "en").text]


@pytest.mark.parametrize("channel", ["web", "sms"])
def test_a_paused_conversation_gets_the_paused_text(
    make_server: Any, install: Callable[..., None], patient_texts: PatientTexts,
    tmp_path: Path, channel: str,
) -> None:
    """A person from the clinic has the conversation: Rasa answers nothing, and the patient
    is told so (with the clinic's number), not that the assistant is broken."""
    install()
    agent = RasaAgent(silent)
    client = Web(make_server, agent) if channel == "web" else Sms(make_server, agent, tmp_path,
                                                                  patient_texts)
    _pause(agent, client.sender_id)
    reply = client.send("hello, is anyone there?")
    first = reply[0]["text"] if channel == "web" else reply[0]
    assert first == patient_texts.text("assistant.paused", "en").text
    assert agent.received[0].sender_id == client.sender_id


# ------------------------------------------------------------------------------ answered turns
def _web_reply(make_server: Any, agent: Any, text: str) -> List[Dict[str, Any]]:
    return Web(make_server, agent).send(text)


@pytest.mark.parametrize("responder", [answering, echo_responder], ids=["buttons", "echo"])
def test_an_answered_web_turn_is_unchanged(make_server: Any, install: Callable[..., None],
                                           responder: Responder) -> None:
    without_gate = _web_reply(make_server, FakeAgent(responder=responder), "do i need a driver")
    install()
    agent = RasaAgent(responder)
    assert _web_reply(make_server, agent, "do i need a driver") == without_gate
    assert len(agent.received) == 1


def test_an_answered_sms_turn_is_unchanged(make_server: Any, install: Callable[..., None],
                                           patient_texts: PatientTexts, tmp_path: Path) -> None:
    without_gate = Sms(make_server, FakeAgent(responder=answering), tmp_path / "a",
                       patient_texts).send("do i need a driver")
    install()
    gated = Sms(make_server, RasaAgent(answering), tmp_path / "b",
                patient_texts).send("do i need a driver")
    assert gated == without_gate
    assert gated[0].startswith("Stop 3 days before.\nAnything else?")


def test_an_emergency_is_answered_first_even_when_the_turn_is_silent(
    make_server: Any, install: Callable[..., None], patient_texts: PatientTexts,
) -> None:
    """The gate answers the red flag itself, before Rasa's turn (which only records it)."""
    install()
    agent = RasaAgent(silent)
    messages = Web(make_server, agent).send("I can't feel my legs and I can't pee")
    emergency = patient_texts.text("triage.emergency", "en").text
    assert messages and messages[0]["text"].startswith(emergency)
    assert patient_texts.text("assistant.unavailable", "en").text not in _texts(messages)
