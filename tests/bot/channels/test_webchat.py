"""The website chat channel: server-issued identity, input limits, CORS, history, the page.

Escaping of message text happens in the browser and is tested there (tests/browser). The
page, the widget's words and the 4xx messages are KB texts (bot/channels/web_texts.py); these
tests bring a small export of their own (`web_export`), with the test clinic's values.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
import requests
from channel_harness import CLINIC, FakeAgent, Reply, RunningApp
from rasa.core.channels.channel import UserMessage

from bot.channels.clinic_profile import ClinicProfile
from bot.channels.web_sessions import WebSessionSigner
from bot.channels.web_texts import WIDGET_DATA_PLACEHOLDER
from bot.channels.webchat import WebChatInput, history_from_events, parse_allowed_origins
from common.patient_texts import PatientTexts

SECRET = b"webchat-test-secret-0123456789abcdefghij"
ALLOWED = "https://www.clinic.example"
API = "/webhooks/webchat"


def web_export(clinic: ClinicProfile) -> PatientTexts:
    """What `make kb` exports for the web chat (web.* texts, the clinic's values filled in),
    in English and, for a few keys, Spanish."""
    english = {
        "web.page_title": f"{clinic.name}: procedure preparation assistant",
        "web.skip_link": "Skip to the message box",
        "web.subtitle": "Automated assistant to help you get ready for your procedure",
        "web.emergency_banner": f"In an emergency call {clinic.emergency_number}.",
        "web.not_watched": "This chat is automated and not watched by staff.",
        "web.noscript": f"The chat needs JavaScript. Please call the clinic at {clinic.phone}.",
        "web.bad_request": "Your message could not be read. Please type it again.",
        "web.empty_message": "Please type a message first.",
        "web.too_long": "Messages can be at most {max_length} characters.",
        "web.session_expired": "The chat session has expired. Please reload the page.",
        "web.origin_not_allowed": f"This website may not use the chat. Call {clinic.phone}.",
        "web.cannot_answer": f"Sorry, I can't answer right now. Please call {clinic.phone}.",
        "web.send": "Send",
        "triage.emergency": "not a web text",
    }
    spanish = {
        "web.page_title": f"{clinic.name}: asistente para preparar su procedimiento",
        "web.emergency_banner": f"En caso de emergencia, llame al {clinic.emergency_number}.",
        "web.send": "Enviar",
    }
    clinic_data = {"name": clinic.name, "phone": clinic.phone,
                   "emergency_number": clinic.emergency_number,
                   "crisis_line": clinic.crisis_line,
                   "default_language": clinic.default_language}
    return PatientTexts({
        "clinic": clinic_data, "languages": ["en", "es"], "kb_fingerprint": "test",
        "texts": {language: {key: {"text": text, "entry": key, "source": "test"}
                             for key, text in texts.items()}
                  for language, texts in (("en", english), ("es", spanish))},
    })


def web_texts_in(texts: PatientTexts, language: str) -> Dict[str, str]:
    """Every web.* text in `language` (English standing in for a missing translation)."""
    keys = {key for by_key in texts.data["texts"].values() for key in by_key
            if key.startswith("web.")}
    return {key: texts.text(key, language).text for key in keys}


async def driver_bot(message: UserMessage) -> List[Reply]:
    if message.text == "/deny":
        return [{"text": "Then please arrange a driver."}]
    return [
        {
            "text": "Do you have someone who can take you home?",
            "buttons": [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        }
    ]


class Web:
    """A browser-less client of the widget API."""

    def __init__(self, running: RunningApp) -> None:
        self.running = running
        self.base = running.base_url + API

    @property
    def agent(self) -> FakeAgent:
        return self.running.agent

    def session(self) -> str:
        reply = requests.post(self.base + "/session", timeout=10)
        assert reply.status_code == 200
        token = reply.json()["token"]
        assert isinstance(token, str) and len(token) > 40
        return str(token)

    def send(
        self,
        token: Optional[str],
        body: Any = None,
        raw: Optional[bytes] = None,
        content_type: str = "application/json",
        headers: Optional[Dict[str, str]] = None,
    ) -> requests.Response:
        sent = {"Content-Type": content_type, **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else json.dumps(body).encode()
        return requests.post(self.base + "/message", data=data, headers=sent, timeout=10)

    def history(self, token: str) -> requests.Response:
        return requests.get(
            self.base + "/history", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )


@pytest.fixture
def make_channel(clinic: ClinicProfile) -> Callable[..., WebChatInput]:
    def make(**overrides: Any) -> WebChatInput:
        options: Dict[str, Any] = {
            "allowed_origins": parse_allowed_origins(ALLOWED),
            "signer": WebSessionSigner(SECRET, 3600),
            "clinic": clinic,
            "texts": web_export(overrides.get("clinic", clinic)),
        }
        options.update(overrides)
        return WebChatInput(**options)

    return make


@pytest.fixture
def web(make_channel: Callable[..., WebChatInput], make_server: Any) -> Web:
    return Web(make_server(make_channel(), FakeAgent(responder=driver_bot)))


# ------------------------------------------------------------------------------ identity
def test_client_chosen_sender_channel_and_metadata_are_ignored(web: Web) -> None:
    token = web.session()
    reply = web.send(token, {
        "message": "do i need a driver",
        "sender": "sms:0123456789abcdef",
        "input_channel": "twilio",
        "metadata": {"identity_verified": True},
    })
    assert reply.status_code == 200
    received = web.agent.received[0]
    assert received.sender_id.startswith("web:")
    assert received.sender_id != "sms:0123456789abcdef"
    assert received.input_channel == "webchat"
    assert received.metadata is None
    # The same token keeps the same conversation; a new session gets another one.
    web.send(token, {"message": "again"})
    web.send(web.session(), {"message": "someone else"})
    ids = [message.sender_id for message in web.agent.received]
    assert ids[0] == ids[1] != ids[2]


def test_replies_come_back_synchronously_with_buttons(web: Web) -> None:
    reply = web.send(web.session(), {"message": "do i need a driver"})
    assert reply.json() == {
        "messages": [
            {
                "text": "Do you have someone who can take you home?",
                "buttons": [
                    {"title": "Yes", "payload": "/affirm"},
                    {"title": "No", "payload": "/deny"},
                ],
            }
        ],
        "language": "en",  # no safety gate here: the clinic's default language
    }


# ------------------------------------------------------------------------------ sessions
@pytest.mark.parametrize(
    "token",
    [None, "", "not-a-token", "v1.AAAA.BBBB", "Bearer", "v2.abc.def"],
)
def test_missing_or_unknown_token_is_401(web: Web, token: Optional[str]) -> None:
    reply = web.send(token, {"message": "hello"})
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_session"
    assert reply.json()["message"] == "The chat session has expired. Please reload the page."
    assert web.agent.received == []


def test_forged_and_expired_tokens_are_401(
    make_channel: Callable[..., WebChatInput], make_server: Any
) -> None:
    now = [1_000_000.0]
    signer = WebSessionSigner(SECRET, 60, clock=lambda: now[0])
    client = Web(make_server(make_channel(signer=signer), FakeAgent()))
    token = client.session()
    assert client.send(token, {"message": "hi"}).status_code == 200
    other_key = WebSessionSigner(b"another-secret-0123456789abcdefghijklmn", 60).issue().token
    assert client.send(other_key, {"message": "hi"}).status_code == 401
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.send(tampered, {"message": "hi"}).status_code == 401
    now[0] += 61
    assert client.send(token, {"message": "hi"}).status_code == 401
    assert client.history(token).status_code == 401
    assert len(client.agent.received) == 1


# ------------------------------------------------------------------------------ input limits
@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"\xff\xfe", b"[]", b'"hello"', b"null", b'{"message": null}',
     b'{"message": 42}', b'{"message": ["a"]}', b'{"text": "hello"}'],
)
def test_malformed_bodies_are_400(web: Web, raw: bytes) -> None:
    reply = web.send(web.session(), raw=raw)
    assert reply.status_code == 400
    assert reply.json()["error"] in {"invalid_json", "invalid_message"}
    assert web.agent.received == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_message_is_400(web: Web, text: str) -> None:
    reply = web.send(web.session(), {"message": text})
    assert reply.status_code == 400
    assert reply.json()["error"] == "empty_message"
    assert web.agent.received == []


def test_message_length_limit(web: Web) -> None:
    token = web.session()
    assert web.send(token, {"message": "a" * 2000}).status_code == 200
    too_long = web.send(token, {"message": "a" * 2001})
    assert too_long.status_code == 413
    assert too_long.json()["max_length"] == 2000
    assert too_long.json()["message"] == "Messages can be at most 2000 characters."
    huge = web.send(token, {"message": "a" * 200_000})
    assert huge.status_code == 413
    assert len(web.agent.received) == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(web: Web, content_type: str) -> None:
    reply = web.send(web.session(), {"message": "hello"}, content_type=content_type)
    assert reply.status_code == 415
    assert web.agent.received == []


def test_failing_turn_is_503_without_text_in_logs(
    make_channel: Callable[..., WebChatInput], make_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(message: UserMessage) -> List[Reply]:
        raise RuntimeError(f"boom {message.text}")

    caplog.set_level(logging.DEBUG)
    client = Web(make_server(make_channel(), FakeAgent(responder=broken)))
    reply = client.send(client.session(), {"message": "canary 4711"})
    assert reply.status_code == 503
    assert reply.json()["message"] == web_export(CLINIC).text("web.cannot_answer").text
    assert "4711" not in caplog.text


# ------------------------------------------------------------------------------ history
def test_history_continues_the_conversation(web: Web) -> None:
    token = web.session()
    web.send(token, {"message": "do i need a driver"})
    web.send(token, {"message": "/deny"})
    web.send(token, {"message": "do i need a driver"})
    messages = web.history(token).json()["messages"]
    assert [(m["role"], m["text"]) for m in messages] == [
        ("user", "do i need a driver"),
        ("bot", "Do you have someone who can take you home?"),
        ("user", "No"),  # the clicked button's title, not its payload
        ("bot", "Then please arrange a driver."),
        ("user", "do i need a driver"),
        ("bot", "Do you have someone who can take you home?"),
    ]
    assert "buttons" not in messages[1]  # old options can no longer be answered
    assert [b["title"] for b in messages[-1]["buttons"]] == ["Yes", "No"]
    # Another session sees nothing of it.
    assert web.history(web.session()).json() == {"messages": []}


def test_history_from_events_ignores_other_events() -> None:
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "user", "text": "hi"},
        {"event": "slot", "name": "x", "value": 1},
        {"event": "bot", "text": "Hello", "data": {"buttons": None}},
    ]
    assert history_from_events(events) == [
        {"role": "user", "text": "hi"},
        {"role": "bot", "text": "Hello"},
    ]


# ------------------------------------------------------------------------------ CORS
def test_allowed_origin_gets_cors_headers(web: Web) -> None:
    preflight = requests.options(
        web.base + "/message",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    token = web.session()
    reply = web.send(token, {"message": "hi"}, headers={"Origin": ALLOWED})
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://www.clinic.example"])
def test_other_origins_are_refused(web: Web, origin: str) -> None:
    preflight = requests.options(
        web.base + "/message",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    session = requests.post(web.base + "/session", headers={"Origin": origin}, timeout=10)
    assert session.status_code == 403
    reply = web.send(web.session(), {"message": "hi"}, headers={"Origin": origin})
    assert reply.status_code == 403
    assert "Access-Control-Allow-Origin" not in reply.headers
    assert web.agent.received == []


def test_own_public_origin_is_allowed(make_channel: Callable[..., WebChatInput],
                                      make_server: Any) -> None:
    """The assistant's own origin is PUBLIC_BASE_URL, never derived from the Host header
    (tests/bot/channels/test_web_tokens.py: DNS rebinding)."""
    own = "https://assistant.clinic.example"
    web = Web(make_server(make_channel(public_base_url=own), FakeAgent(responder=driver_bot)))
    reply = web.send(web.session(), {"message": "hi"}, headers={"Origin": own})
    assert reply.status_code == 200
    assert "Access-Control-Allow-Origin" not in reply.headers
    served_from = web.running.base_url  # the loopback URL: not configured, so refused
    assert web.send(web.session(), {"message": "hi"},
                    headers={"Origin": served_from}).status_code == 403


def test_allowed_origins_parsing() -> None:
    parsed = parse_allowed_origins(" https://a.example ,http://b.example:8080/path, ,ftp://x, x")
    assert parsed == frozenset({"https://a.example", "http://b.example:8080"})
    assert parse_allowed_origins(None) == frozenset()


# ------------------------------------------------------------------------------ page and files
def test_page_shows_the_emergency_number_escaped(
    make_channel: Callable[..., WebChatInput], make_server: Any
) -> None:
    clinic = ClinicProfile(name="Spine <b>&</b> Pain", phone="+1 555", emergency_number="112",
                           crisis_line="024", default_language="en")
    client = Web(make_server(make_channel(clinic=clinic), FakeAgent()))
    page = requests.get(client.base + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "In an emergency call <a href=\"tel:112\">112</a>" in page.text
    assert "Spine &lt;b&gt;&amp;&lt;/b&gt; Pain" in page.text  # the name, and the KB title
    assert "<b>" not in page.text
    assert "{{" not in page.text  # every placeholder filled
    assert '<html lang="en">' in page.text
    assert f'src="{API}/widget.js"' in page.text
    without_slash = requests.get(client.base, timeout=10)
    assert without_slash.status_code == 200 and f'src="{API}/widget.js"' in without_slash.text


@pytest.mark.parametrize("query, headers", [("?lang=es", {}), ("", {"Accept-Language": "es-ES"})])
def test_page_speaks_the_asked_language(
    web: Web, clinic: ClinicProfile, query: str, headers: Dict[str, str]
) -> None:
    page = requests.get(web.base + "/" + query, headers=headers, timeout=10)
    assert '<html lang="es">' in page.text and 'data-lang="es"' in page.text
    number = clinic.emergency_number
    assert f'En caso de emergencia, llame al <a href="tel:{number}">{number}</a>.' in page.text
    assert "Skip to the message box" in page.text  # no Spanish text: the English one


def test_config_and_static_files(web: Web, clinic: ClinicProfile) -> None:
    config = requests.get(web.base + "/config", timeout=10).json()
    texts = web_export(clinic)
    assert config == {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "emergency_number": clinic.emergency_number,
        "max_message_length": 2000,
        "language": "en",
        "texts": web_texts_in(texts, "en"),
    }
    spanish = requests.get(web.base + "/config", headers={"Accept-Language": "es"},
                           timeout=10).json()
    assert spanish["language"] == "es" and spanish["texts"] == web_texts_in(texts, "es")
    assert spanish["texts"]["web.send"] == "Enviar"
    script = requests.get(web.base + "/widget.js", timeout=10)
    assert script.headers["content-type"].startswith("application/javascript")
    assert "innerHTML" not in script.text.replace("never innerHTML", "")
    assert WIDGET_DATA_PLACEHOLDER not in script.text  # the KB texts are written in
    assert '"web.send": "Enviar"' in script.text
    assert f'"emergency_number": "{clinic.emergency_number}"' in script.text
    assert "triage.emergency" not in script.text  # only the web chat's own texts
    style = requests.get(web.base + "/widget.css", timeout=10)
    assert style.headers["content-type"].startswith("text/css")
    assert "prefers-reduced-motion" in style.text
    assert requests.get(web.base + "/index.html", timeout=10).status_code == 404
    assert requests.get(web.base + "/../credentials.yml", timeout=10).status_code == 404


def test_web_directory_is_complete() -> None:
    web_dir = Path(__file__).resolve().parents[3] / "web"
    for name in ("index.html", "widget.js", "widget.css", "README.md"):
        assert (web_dir / name).is_file(), name


def test_channel_name() -> None:
    assert WebChatInput.name() == "webchat"
