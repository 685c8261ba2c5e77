"""bot/rest_safe.py: SafeRestInput's input checks and replies when a turn fails (no server).

Never silent is the safety gate's job now (bot/safety/gate.py, installed over
Agent.handle_message): the channel passes on what the turn said, and answers 503 with the KB's
"please call" text only when the turn itself raised (the gate never lets it) or no model is
loaded. The silent-turn test runs the channel with the real gate in front.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List, Optional

import pytest
from rasa.core.channels.channel import UserMessage

from bot.rest_safe import BadRequest, SafeRestInput, clean_text, parse_request
from bot.safety.gate import ConversationLanguages, SafetyGate
from bot.safety.triage import Verdict
from common.patient_texts import PatientTexts

UNAVAILABLE = "Please call 555."
RESPONSES = {"utter_service_unavailable": [{"text": "Not this one: the KB export's text."}]}
EXPORT = {"clinic": {"name": "Test Clinic", "phone": "555", "emergency_number": "911",
                     "crisis_line": "988", "default_language": "en"},
          "languages": ["en"], "kb_fingerprint": "test",
          "texts": {"en": {"assistant.unavailable": {"text": UNAVAILABLE, "entry": "t",
                                                     "source": "test"}}}}


@pytest.fixture
def kb_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$DATA_DIR/generated/patient_texts.json with the test's "please call" text."""
    target = tmp_path / "generated" / "patient_texts.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(EXPORT), encoding="utf-8")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))


class Routine:
    def assess(self, text: str, language: Optional[str] = None) -> Verdict:
        return Verdict("routine", None, None, language or "en")

    def is_minimising(self, text: str) -> bool:
        return False


@pytest.mark.parametrize(("content_type", "body", "status", "code"), [
    ("text/plain", b'{"sender": "a", "message": "hi"}', 415, "unsupported_media_type"),
    (None, b'{"sender": "a", "message": "hi"}', 415, "unsupported_media_type"),
    ("application/json", b"{not json", 400, "invalid_json"),
    ("application/json", b"\xff\xfe", 400, "invalid_json"),
    ("application/json", b"", 400, "invalid_json"),
    ("application/json", b"[]", 400, "invalid_body"),
    ("application/json", b'"text"', 400, "invalid_body"),
    ("application/json", b'{"message": "hi"}', 400, "invalid_sender"),
    ("application/json", b'{"sender": 5, "message": "hi"}', 400, "invalid_sender"),
    ("application/json", b'{"sender": "   ", "message": "hi"}', 400, "invalid_sender"),
    ("application/json", json.dumps({"sender": "a" * 300, "message": "hi"}).encode(), 400,
     "invalid_sender"),
    ("application/json", b'{"sender": "a"}', 400, "invalid_message"),
    ("application/json", b'{"sender": "a", "message": {"t": 1}}', 400, "invalid_message"),
    ("application/json", b'{"sender": "a", "message": ""}', 400, "empty_message"),
    ("application/json", b'{"sender": "a", "message": " \\u0000\\u0007 "}', 400,
     "empty_message"),
    ("application/json", json.dumps({"sender": "a", "message": "x" * 10_000}).encode(), 413,
     "message_too_long"),
    ("application/json", b'{"sender": "a", "message": "' + b"x" * 70_000 + b'"}', 413,
     "message_too_long"),
])
def test_bad_requests_are_refused_with_a_4xx(content_type: Optional[str], body: bytes,
                                             status: int, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_request(content_type, body)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_a_good_request_is_parsed_and_cleaned() -> None:
    body = json.dumps({"sender": "p1", "message": " hi\u0000 there\u0007 😀 مرحبا ",
                       "metadata": {"k": 1}, "input_channel": "twilio"}).encode()
    sender, text, metadata = parse_request("application/json; charset=utf-8", body)
    assert (sender, text, metadata) == ("p1", "hi there 😀 مرحبا", {"k": 1})


def test_metadata_that_is_not_an_object_is_dropped() -> None:
    body = json.dumps({"sender": "p1", "message": "hi", "metadata": [1]}).encode()
    assert parse_request("application/json", body)[2] is None


def test_clean_text_keeps_newlines_and_tabs() -> None:
    assert clean_text("a\nb\tc\x1b[0m") == "a\nb\tc[0m"


class FakeAgent:
    def __init__(self, ready: bool = True) -> None:
        self.ready = ready
        self.domain = SimpleNamespace(responses=RESPONSES)

    def is_ready(self) -> bool:
        return self.ready


def request(body: dict[str, Any], agent: Optional[FakeAgent]) -> Any:
    return SimpleNamespace(headers={"content-type": "application/json"},
                           body=json.dumps(body).encode(),
                           app=SimpleNamespace(ctx=SimpleNamespace(agent=agent)))


def reply(response: Any) -> tuple[int, List[dict[str, Any]]]:
    return response.status, json.loads(response.body)


async def test_silent_turn_gets_the_unavailable_reply() -> None:
    """Through the gate, as in `rasa run`: a turn that says nothing gets the KB text, 200."""
    seen: List[UserMessage] = []

    async def silent(agent: Any, message: UserMessage) -> None:
        seen.append(message)

    gate = SafetyGate(Routine(), ConversationLanguages(()), alerts=None,
                      texts=lambda: PatientTexts(EXPORT))
    agent = FakeAgent()

    async def gated(message: UserMessage) -> Any:
        return await gate.handle(agent, message, silent)

    response = await SafeRestInput().handle(request({"sender": "p1", "message": "hi"}, agent),
                                            gated)
    assert reply(response) == (200, [{"recipient_id": "p1", "text": UNAVAILABLE}])
    assert seen[0].input_channel == "rest" and seen[0].sender_id == "p1"


async def test_the_channel_itself_passes_a_silent_turn_on() -> None:
    """Without the gate the channel adds nothing (it used to: one net, the gate's, now)."""
    async def silent(message: UserMessage) -> None:
        return None

    response = await SafeRestInput().handle(request({"sender": "p1", "message": "hi"},
                                                    FakeAgent()), silent)
    assert reply(response) == (200, [])


async def test_a_turn_that_answers_is_passed_through() -> None:
    async def answers(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Hello")

    response = await SafeRestInput().handle(request({"sender": "p1", "message": "hi"},
                                                    FakeAgent()), answers)
    assert reply(response) == (200, [{"recipient_id": "p1", "text": "Hello"}])


@pytest.mark.usefixtures("kb_export")
async def test_a_failing_turn_gets_503_and_the_unavailable_reply(
        caplog: pytest.LogCaptureFixture) -> None:
    """The text is the KB export's (it works without the model's domain)."""
    async def fails(message: UserMessage) -> None:
        raise RuntimeError(f"boom with {message.text}")

    response = await SafeRestInput().handle(
        request({"sender": "p1", "message": "secret-canary"}, FakeAgent()), fails)
    assert reply(response) == (503, [{"recipient_id": "p1", "text": UNAVAILABLE}])
    assert "secret-canary" not in caplog.text


@pytest.mark.usefixtures("kb_export")
@pytest.mark.parametrize("agent", [None, FakeAgent(ready=False)])
async def test_no_model_gets_503(agent: Optional[FakeAgent]) -> None:
    async def never_called(message: UserMessage) -> None:
        raise AssertionError("no turn without a model")

    response = await SafeRestInput().handle(request({"sender": "p1", "message": "hi"}, agent),
                                            never_called)
    status, body = reply(response)
    assert status == 503 and body[0]["text"] == UNAVAILABLE
