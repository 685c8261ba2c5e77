"""Rate limits on the patient channels: per web session, per client address, per phone number.

Nothing was limited (100 `/session` requests in 0.03 s, 40 messages on one token). Over a
limit the patient gets the KB text assistant.rate_limited (with the emergency number), and a
message the gate's triage flags as an emergency is answered anyway.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, Iterator, Optional

import pytest
import requests
from channel_harness import CLINIC, FakeAgent, RunningApp
from sms_client import TEXTS, Sms, make_channel, write_export

from bot import runtime_guards
from bot.channels.web_sessions import WebSessionSigner
from bot.channels.webchat import WebChatInput
from bot.rate_limit import Limit, MemoryCounter, RateLimits, client_address
from bot.safety.gate import ConversationLanguages
from bot.safety.triage import Verdict

SECRET = b"webchat-test-secret-0123456789abcdefghij"
API = "/webhooks/webchat"
EMERGENCY = "I can't feel my legs since the procedure"
RATE_LIMITED = TEXTS["assistant.rate_limited"]


class FakeTriage:
    """The gate's triage for these tests: the legs sentence is an emergency."""

    def assess(self, text: str, language: Optional[str] = None) -> Verdict:
        return Verdict("emergency" if "feel my legs" in text else "routine", None, None, "en")


@pytest.fixture(autouse=True)
def gate_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    write_export(tmp_path / "data")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    # the parts of the installed gate the channels use: its triage and the conversation languages
    languages = ConversationLanguages(())
    monkeypatch.setattr(runtime_guards, "_gate",
                        SimpleNamespace(triage=FakeTriage(), languages=languages))
    yield


def limits(**configured: str) -> RateLimits:
    off = {kind: Limit.parse("off") for kind in
           ("web_session", "web_address", "web_new_session", "sms_number")}
    off.update({kind: Limit.parse(value) for kind, value in configured.items()})
    return RateLimits(MemoryCounter(), off)


class Web:
    def __init__(self, running: RunningApp) -> None:
        self.running = running
        self.base = running.base_url + API

    def session(self, headers: Optional[Dict[str, str]] = None) -> requests.Response:
        return requests.post(self.base + "/session", headers=headers or {}, timeout=10)

    def token(self, headers: Optional[Dict[str, str]] = None) -> str:
        reply = self.session(headers)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["token"])

    def send(self, token: str, text: str,
             headers: Optional[Dict[str, str]] = None) -> requests.Response:
        return requests.post(self.base + "/message", json={"message": text}, timeout=10,
                             headers={"Authorization": f"Bearer {token}", **(headers or {})})


@pytest.fixture
def make_web(make_server: Callable[..., RunningApp]) -> Callable[..., Web]:
    def make(rate_limits: RateLimits) -> Web:
        channel = WebChatInput(signer=WebSessionSigner(SECRET, 3600), clinic=CLINIC,
                               limits=rate_limits)
        return Web(make_server(channel, FakeAgent()))

    return make


def assert_polite_429(reply: requests.Response) -> None:
    assert reply.status_code == 429
    body = reply.json()
    assert body["error"] == "rate_limited" and body["message"] == RATE_LIMITED
    assert "911" in body["message"]  # the emergency line is still there
    assert int(reply.headers["Retry-After"]) >= 1


# ----------------------------------------------------------------------------- web chat
def test_messages_per_session_are_limited(make_web: Callable[..., Web]) -> None:
    web = make_web(limits(web_session="3/60"))
    token = web.token()
    assert [web.send(token, f"question {i}").status_code for i in range(3)] == [200] * 3
    assert_polite_429(web.send(token, "question 4"))
    assert web.send(web.token(), "another patient").status_code == 200
    assert len(web.running.agent.received) == 4


def test_an_emergency_over_the_limit_is_answered(make_web: Callable[..., Web]) -> None:
    web = make_web(limits(web_session="1/60"))
    token = web.token()
    assert web.send(token, "question 1").status_code == 200
    assert_polite_429(web.send(token, "question 2"))
    reply = web.send(token, EMERGENCY)
    assert reply.status_code == 200
    assert web.running.agent.received[-1].text == EMERGENCY  # the gate answers it


def test_messages_per_client_address_are_limited(make_web: Callable[..., Web]) -> None:
    web = make_web(limits(web_address="4/60"))
    tokens = [web.token() for _ in range(3)]
    statuses = [web.send(tokens[i % 3], f"q{i}").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_new_sessions_per_client_address_are_limited(make_web: Callable[..., Web]) -> None:
    web = make_web(limits(web_new_session="5/60"))
    replies = [web.session() for _ in range(7)]
    assert [r.status_code for r in replies] == [200] * 5 + [429, 429]
    assert_polite_429(replies[-1])


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
        make_web: Callable[..., Web], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_TRUSTED_PROXIES", "1")
    web = make_web(limits(web_new_session="1/60"))
    assert web.session({"X-Forwarded-For": "203.0.113.5"}).status_code == 200
    assert web.session({"X-Forwarded-For": "203.0.113.6"}).status_code == 200
    assert web.session({"X-Forwarded-For": "198.51.100.1, 203.0.113.6"}).status_code == 429


def test_without_trusted_proxies_a_forwarded_header_is_ignored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RATE_LIMIT_TRUSTED_PROXIES", raising=False)
    request = SimpleNamespace(ip="127.0.0.1", headers={"x-forwarded-for": "203.0.113.9"})
    assert client_address(request) == "127.0.0.1"


# ----------------------------------------------------------------------------- SMS
@pytest.fixture
def make_sms(tmp_path: Path, make_server: Callable[..., RunningApp]) -> Callable[..., Sms]:
    def make(rate_limits: RateLimits) -> Sms:
        return Sms(make_server(make_channel(tmp_path, limits=rate_limits), FakeAgent()))

    return make


def test_messages_per_number_are_limited_with_one_polite_reply(
        make_sms: Callable[..., Sms]) -> None:
    sms = make_sms(limits(sms_number="2/60"))
    sms.send("question 1")
    sms.send("question 2")
    assert sms.send("question 3") == [RATE_LIMITED]
    assert sms.send("question 4") == []  # one reply per window: SMS cost the clinic too
    assert len(sms.running.agent.received) == 2
    assert sms.send(EMERGENCY)  # answered over the limit (the gate replies)
    assert sms.running.agent.received[-1].text == EMERGENCY


def test_keywords_are_never_limited(make_sms: Callable[..., Sms]) -> None:
    sms = make_sms(limits(sms_number="1/60"))
    sms.send("question 1")
    assert sms.send("HELP") == [TEXTS["sms.help"]]
    assert sms.send("STOP") == []
    assert sms.send("START") == [TEXTS["sms.opted_in"]]


# ----------------------------------------------------------------------------- the limits
def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_WEB_SESSION", "5/10")
    monkeypatch.setenv("RATE_LIMIT_SMS_NUMBER", "off")
    monkeypatch.setenv("RATE_LIMIT_STORE", "memory")
    configured = RateLimits.from_env()
    assert configured.limits["web_session"] == Limit(5, 10.0)
    assert not configured.limits["sms_number"].enabled
    assert configured.limits["web_address"] == Limit(60, 60.0)  # the default
    monkeypatch.setenv("RATE_LIMIT_STORE", "file")
    with pytest.raises(ValueError):
        RateLimits.from_env()


def test_windows_reset_and_keys_hold_no_subject() -> None:
    now = [1000.0]
    counter = MemoryCounter()
    rate_limits = RateLimits(counter, {"sms_number": Limit(1, 60)}, clock=lambda: now[0])
    assert rate_limits.check("sms_number", "sms:abc").allowed
    refused = rate_limits.check("sms_number", "sms:abc")
    assert not refused.allowed and refused.first_refusal and 1 <= refused.retry_after_s <= 60
    now[0] += 60
    assert rate_limits.check("sms_number", "sms:abc").allowed
    assert not any("sms:abc" in key for key in counter._counts)


def test_a_failing_counter_does_not_refuse_patients() -> None:
    class Broken:
        def hit(self, key: str, window: int, window_s: float) -> int:
            raise ConnectionError("redis down")

    rate_limits = RateLimits(Broken(), {"web_session": Limit(1, 60)})
    assert all(rate_limits.check("web_session", "web:x").allowed for _ in range(3))


def test_rate_limit_text_is_the_kb_text() -> None:
    from bot.rate_limit import rate_limited_text

    assert rate_limited_text("en") == RATE_LIMITED
