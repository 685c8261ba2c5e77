"""The patient channels apply the never-silent net: a turn with no reply gets the KB text.

A silent turn (what Rasa 3.6 produces when a custom action fails) is sent through the real web
chat and SMS channels in the real Sanic wiring (channel_harness); the agent's on_new_message
produces no message at all, and the patient must still get the clinic's "please call" text,
taken from the loaded domain's `utter_service_unavailable`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List

import pytest
import requests
from channel_harness import CLINIC, FakeAgent, Reply
from rasa.core.channels.channel import UserMessage
from twilio.request_validator import RequestValidator

from bot.channels.sms_state import SmsStateStore
from bot.channels.twilio_secure import SecureTwilioInput
from bot.channels.web_sessions import WebSessionSigner
from bot.channels.webchat import WebChatInput, parse_allowed_origins
from bot.never_silent import LAST_RESORT_TEXT, with_safety_net

UNAVAILABLE = "I can't look that up right now. Call us on +1 555 010 0199."
RESPONSES = {"utter_service_unavailable": [{"text": UNAVAILABLE}]}
AUTH_TOKEN = "never-silent-auth-token-0123456789abcdef"
WEBHOOK = "/webhooks/twilio/webhook"


async def silent(message: UserMessage) -> List[Reply]:
    """A turn that answers nothing (e.g. the action server failed)."""
    return []


def silent_agent(responses: Any = RESPONSES) -> FakeAgent:
    agent = FakeAgent(responder=silent)
    agent.domain = SimpleNamespace(responses=responses)  # type: ignore[attr-defined]
    return agent


def web_turn(make_server: Any, agent: FakeAgent, text: str) -> List[str]:
    channel = WebChatInput(
        allowed_origins=parse_allowed_origins("https://www.clinic.example"),
        signer=WebSessionSigner(b"never-silent-secret-0123456789abcdefghij", 3600),
        clinic=CLINIC,
    )
    base = make_server(channel, agent).base_url + "/webhooks/webchat"
    token = requests.post(base + "/session", timeout=10).json()["token"]
    reply = requests.post(base + "/message", json={"message": text},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return [message.get("text", "") for message in reply.json()["messages"]]


def sms_turn(make_server: Any, agent: FakeAgent, text: str, tmp_path: Path) -> List[str]:
    channel = SecureTwilioInput(
        account_sid="AC" + "0" * 32, auth_token=AUTH_TOKEN, twilio_number="+15550100000",
        store=SmsStateStore(f"sqlite:///{tmp_path / 'sms_state.sqlite3'}"),
        id_secret=b"never-silent-id-secret-0123456789abcdefgh", clinic=CLINIC,
    )
    url = make_server(channel, agent).base_url + WEBHOOK
    fields = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32,
              "From": "+15550104343", "To": "+15550100000", "Body": text, "NumMedia": "0"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, fields)
    reply = requests.post(url, data=fields, headers={"X-Twilio-Signature": signature},
                          timeout=10)
    assert reply.status_code == 200, reply.text
    return [element.text or "" for element in ET.fromstring(reply.text).findall("Message")]


def test_silent_web_chat_turn_gets_the_unavailable_text(make_server: Any) -> None:
    agent = silent_agent()
    texts = web_turn(make_server, agent, "when do i stop eliquis")
    assert len(agent.finished) == 1  # the turn ran and produced nothing
    assert texts == [UNAVAILABLE]


def test_silent_sms_turn_gets_the_unavailable_text(make_server: Any, tmp_path: Path) -> None:
    agent = silent_agent()
    texts = sms_turn(make_server, agent, "when do i stop eliquis", tmp_path)
    assert len(agent.finished) == 1
    assert texts[-1] == UNAVAILABLE  # after the first-contact notice


@pytest.mark.parametrize("channel", ["web", "sms"])
def test_without_the_domain_text_the_last_resort_text_is_sent(
    make_server: Any, tmp_path: Path, channel: str
) -> None:
    agent = silent_agent(responses={})
    if channel == "web":
        texts = web_turn(make_server, agent, "when do i stop eliquis")
    else:
        texts = sms_turn(make_server, agent, "when do i stop eliquis", tmp_path)
    assert texts[-1] == LAST_RESORT_TEXT


def test_silent_turn_gets_the_unavailable_text() -> None:
    messages = with_safety_net("when do i stop eliquis", [], RESPONSES, "web:abc")
    assert [m["text"] for m in messages] == [UNAVAILABLE]


def test_answered_turn_is_unchanged() -> None:
    answered = [{"recipient_id": "web:abc", "text": "Stop 3 days before."}]
    assert with_safety_net("when do i stop eliquis", answered, RESPONSES, "web:abc") == answered
