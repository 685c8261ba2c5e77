"""The SMS channel: signatures, pseudonymous ids, idempotency, keywords, options, TwiML.

Requests are signed with the real Twilio SDK (RequestValidator.compute_signature), the channel
runs in the real Sanic wiring (conftest.serve) with a fake agent, so no model is needed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
import requests
from channel_harness import FakeAgent, Reply, RunningApp
from rasa.core.channels.channel import UserMessage
from twilio.request_validator import RequestValidator

from bot.channels.clinic_profile import ClinicProfile, profile_from
from bot.channels.sms_segments import encoding_of, segment_count
from bot.channels.sms_state import SmsStateStore
from bot.channels.twilio_secure import (
    OPT_OUT_KEYWORDS,
    SecureTwilioInput,
    SmsTexts,
    choose_option,
    conversation_id_for,
    fit_sms,
    keyword_of,
    twiml,
)
from common.patient_texts import PatientTexts

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ID_SECRET = b"test-sms-id-secret-0123456789abcdefghijkl"
PHONE = "+15550104242"
PHONE_DIGITS = "5550104242"
WEBHOOK = "/webhooks/twilio/webhook"
_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032d}"


async def driver_bot(message: UserMessage) -> List[Reply]:
    """A bot that asks the driver question with buttons and answers the payloads."""
    text = message.text or ""
    if text == "/deny":
        return [{"text": "Then please arrange a driver; you cannot drive yourself home."}]
    if text == "/affirm":
        return [{"text": "Good."}]
    if "driver" in text:
        return [
            {"text": "You need an adult to take you home."},
            {
                "text": "Do you have someone who can take you home?",
                "buttons": [
                    {"title": "Yes", "payload": "/affirm"},
                    {"title": "No", "payload": "/deny"},
                ],
            },
        ]
    return [{"text": f"Echo: {text}"}]


class Sms:
    """A test client that posts Twilio-shaped, correctly signed webhooks."""

    def __init__(self, running: RunningApp, signed_base: Optional[str] = None) -> None:
        self.running = running
        self.url = running.base_url + WEBHOOK
        self.signed_url = (signed_base or running.base_url) + WEBHOOK

    @property
    def agent(self) -> FakeAgent:
        return self.running.agent

    def params(self, body: str, **extra: str) -> Dict[str, str]:
        fields = {
            "ToCountry": "US",
            "SmsMessageSid": "",
            "NumMedia": "0",
            "FromCity": "",  # blank fields are signed too
            "Body": body,
            "From": PHONE,
            "To": "+15550100000",
            "MessageSid": new_sid(),
            "AccountSid": "AC" + "0" * 32,
            "ApiVersion": "2010-04-01",
        }
        fields.update(extra)
        return fields

    def sign(self, params: Dict[str, str], url: Optional[str] = None) -> str:
        return RequestValidator(AUTH_TOKEN).compute_signature(url or self.signed_url, params)

    def post(
        self,
        params: Dict[str, str],
        signature: Optional[str] = "sign",
        headers: Optional[Dict[str, str]] = None,
    ) -> requests.Response:
        sent_headers = dict(headers or {})
        if signature == "sign":
            sent_headers["X-Twilio-Signature"] = self.sign(params)
        elif signature is not None:
            sent_headers["X-Twilio-Signature"] = signature
        return requests.post(self.url, data=params, headers=sent_headers, timeout=10)

    def send(self, body: str, **extra: str) -> List[str]:
        """Post a signed SMS; return the texts of the TwiML <Message> elements."""
        reply = self.post(self.params(body, **extra))
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("application/xml")
        return messages_of(reply.text)


def messages_of(document: str) -> List[str]:
    root = ET.fromstring(document)
    assert root.tag == "Response"
    return [element.text or "" for element in root.findall("Message")]


@pytest.fixture
def store(tmp_path: Path) -> SmsStateStore:
    return SmsStateStore(f"sqlite:///{tmp_path / 'sms_state.sqlite3'}")


@pytest.fixture
def clinic(patient_texts: PatientTexts) -> ClinicProfile:
    """The clinic the SMS texts name: the one in the KB export (the channel's only source)."""
    return profile_from(patient_texts)


@pytest.fixture
def make_channel(
    store: SmsStateStore, patient_texts: PatientTexts
) -> Callable[..., SecureTwilioInput]:
    def make(**overrides: Any) -> SecureTwilioInput:
        options: Dict[str, Any] = {
            "account_sid": "AC" + "0" * 32,
            "auth_token": AUTH_TOKEN,
            "twilio_number": "+15550100000",
            "store": store,
            "id_secret": ID_SECRET,
            "texts": SmsTexts(patient_texts),
            "turn_timeout_s": 5.0,
        }
        options.update(overrides)
        return SecureTwilioInput(**options)

    return make


@pytest.fixture
def sms(make_channel: Callable[..., SecureTwilioInput], make_server: Any) -> Sms:
    return Sms(make_server(make_channel(), FakeAgent(responder=driver_bot)))


def stored_sender_ids(agent: FakeAgent) -> List[str]:
    return [message.sender_id for message in agent.received]


# ------------------------------------------------------------------------------ signatures
def test_signed_request_runs_one_pseudonymous_turn(sms: Sms) -> None:
    texts = sms.send("hello there")
    assert len(sms.agent.received) == 1
    message = sms.agent.received[0]
    assert message.text == "hello there"
    assert message.input_channel == "twilio"
    assert message.sender_id == conversation_id_for(PHONE, ID_SECRET)
    assert message.sender_id.startswith("sms:") and len(message.sender_id) == 4 + 64
    assert PHONE_DIGITS not in message.sender_id
    assert texts[0] == "Echo: hello there"


def test_missing_signature_is_rejected_without_a_trace(sms: Sms) -> None:
    reply = sms.post(sms.params("what time do I arrive"), signature=None)
    assert reply.status_code == 403
    assert "<Message>" not in reply.text
    assert sms.agent.received == []


def test_wrong_signature_is_rejected(sms: Sms) -> None:
    reply = sms.post(sms.params("hello"), signature="c29tZXRoaW5nIGVsc2U=")
    assert reply.status_code == 403
    assert sms.agent.received == []


def test_signature_for_another_url_is_rejected(sms: Sms) -> None:
    params = sms.params("hello")
    other = sms.sign(params, url="https://attacker.example/webhooks/twilio/webhook")
    reply = sms.post(params, signature=other)
    assert reply.status_code == 403
    assert sms.agent.received == []


def test_tampered_body_is_rejected(sms: Sms) -> None:
    params = sms.params("do i need a driver")
    signature = sms.sign(params)
    params["Body"] = "tell me the procedure date"
    reply = sms.post(params, signature=signature)
    assert reply.status_code == 403
    assert sms.agent.received == []


def test_tampered_sender_is_rejected(sms: Sms) -> None:
    params = sms.params("hello")
    signature = sms.sign(params)
    params["From"] = "+15550109999"
    assert sms.post(params, signature=signature).status_code == 403
    assert sms.agent.received == []


def test_rejection_writes_no_state(sms: Sms, store: SmsStateStore) -> None:
    params = sms.params("hello")
    assert sms.post(params, signature=None).status_code == 403
    # The SID was not consumed: the genuine (signed) delivery is still processed.
    assert sms.post(params).status_code == 200
    assert len(sms.agent.received) == 1


def test_non_form_body_is_rejected(sms: Sms) -> None:
    reply = requests.post(
        sms.url, json={"Body": "hello", "From": PHONE},
        headers={"X-Twilio-Signature": "x"}, timeout=10,
    )
    assert reply.status_code == 403
    assert sms.agent.received == []


def test_without_an_auth_token_every_request_is_rejected(
    make_channel: Callable[..., SecureTwilioInput], make_server: Any
) -> None:
    client = Sms(make_server(make_channel(auth_token=""), FakeAgent()))
    assert client.post(client.params("hello")).status_code == 403
    assert client.agent.received == []


def test_public_base_url_is_the_signed_url(
    make_channel: Callable[..., SecureTwilioInput], make_server: Any
) -> None:
    public = "https://bot.clinic.example"
    running = make_server(
        make_channel(public_base_url=public + "/"), FakeAgent(responder=driver_bot)
    )
    behind_proxy = Sms(running, signed_base=public)
    assert behind_proxy.send("hello")[0] == "Echo: hello"
    local_signature = Sms(running)  # signed for the internal URL: not what Twilio signs
    assert local_signature.post(local_signature.params("hello")).status_code == 403
    assert len(running.agent.received) == 1


# ------------------------------------------------------------------------------ idempotency
def test_retried_message_sid_is_processed_once(sms: Sms) -> None:
    params = sms.params("do i need a driver")
    first = sms.post(params)
    second = sms.post(params)
    time.sleep(0.1)
    third = sms.post(params)
    assert first.status_code == second.status_code == third.status_code == 200
    assert len(sms.agent.received) == 1
    assert messages_of(second.text) == [] and messages_of(third.text) == []
    sms.send("another question")  # a new SID is processed
    assert len(sms.agent.received) == 2


# ------------------------------------------------------------------------------ keywords
@pytest.mark.parametrize(
    "keyword", ["STOP", "stop", "StopAll", "UNSUBSCRIBE", "cancel", "END", "quit", " Stop. "]
)
def test_opt_out_suppresses_everything_until_start(
    sms: Sms, keyword: str, patient_texts: PatientTexts
) -> None:
    """Only HELP is still answered after STOP (carrier rules; it got nothing before the SMS
    after-STOP fix). An emergency after STOP: test_sms_after_stop.py."""
    sms.send("hello")
    assert sms.send(keyword) == []
    assert sms.send("do i need a driver") == []
    assert sms.send("HELP") == [SmsTexts(patient_texts).help()]
    assert [m.text for m in sms.agent.received] == ["hello"]
    resumed = sms.send("START")
    assert len(resumed) == 1 and "STOP" in resumed[0]
    assert sms.send("do i need a driver")[-1].startswith("You need an adult")
    assert len(sms.agent.received) == 2


def test_opt_out_is_recorded_with_keyword_and_time(sms: Sms, tmp_path: Path) -> None:
    sms.send("hello")
    sms.send("unsubscribe")
    with sqlite3.connect(tmp_path / "sms_state.sqlite3") as db:
        events = db.execute(
            "SELECT kind, keyword, created_at FROM sms_consent_events"
        ).fetchall()
        opted_out = db.execute("SELECT opted_out FROM sms_contacts").fetchone()[0]
    assert [(kind, keyword) for kind, keyword, _ in events] == [("opt_out", "UNSUBSCRIBE")]
    assert events[0][2]
    assert opted_out == 1


@pytest.mark.parametrize("keyword", ["UNSTOP", "yes"])
def test_other_opt_in_keywords(sms: Sms, keyword: str) -> None:
    sms.send("STOP")
    assert len(sms.send(keyword)) == 1
    assert sms.send("hi")[0] == "Echo: hi"


def test_yes_is_an_answer_when_not_opted_out(sms: Sms) -> None:
    sms.send("hello")
    assert sms.send("Yes") == ["Echo: Yes"]


@pytest.mark.parametrize("keyword", ["HELP", "help", "Info"])
def test_help_gives_clinic_contact_and_opt_out(
    sms: Sms, clinic: ClinicProfile, keyword: str
) -> None:
    texts = sms.send(keyword)
    assert len(texts) == 1
    assert clinic.name in texts[0] and clinic.phone in texts[0]
    assert "reply stop to opt out" in texts[0].lower()
    assert sms.agent.received == []


def test_keywords_only_match_the_whole_message(sms: Sms) -> None:
    sms.send("hello")
    assert sms.send("please stop the blood thinner?") == ["Echo: please stop the blood thinner?"]


# ------------------------------------------------------------------------------ first contact
def test_first_contact_gets_the_notice_once_after_the_answer(
    sms: Sms, clinic: ClinicProfile
) -> None:
    """The answer comes first (an emergency reply must be the first thing a patient reads),
    then the notice, once."""
    first = sms.send("do i need a driver")
    assert len(first) == 2
    answer, notice = first
    assert "automated" in notice.lower()
    assert "not encrypted" in notice.lower()
    assert "STOP" in notice and clinic.emergency_number in notice
    assert answer.startswith("You need an adult")
    assert len(sms.send("and what about food")) == 1


# ------------------------------------------------------------------------------ options
def test_buttons_become_numbered_options_and_digits_choose(sms: Sms) -> None:
    answer = sms.send("do i need a driver")[0]
    assert "1. Yes" in answer and "2. No" in answer
    assert "/deny" not in answer and "/affirm" not in answer
    assert sms.send("2") == ["Then please arrange a driver; you cannot drive yourself home."]
    assert sms.agent.received[-1].text == "/deny"


def test_options_are_forgotten_after_the_next_turn(sms: Sms) -> None:
    sms.send("do i need a driver")
    sms.send("1")
    assert sms.agent.received[-1].text == "/affirm"
    assert sms.send("2") == ["Echo: 2"]


def test_out_of_range_digit_is_passed_on(sms: Sms) -> None:
    sms.send("do i need a driver")
    sms.send("7")
    assert sms.agent.received[-1].text == "7"


def test_choose_option_formats() -> None:
    buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert choose_option("2", buttons) == "/deny"
    assert choose_option(" 1. ", buttons) == "/affirm"
    assert choose_option("#2", buttons) == "/deny"
    assert choose_option("12", buttons) is None
    assert choose_option("2 pills", buttons) is None
    assert choose_option("2", []) is None


# ------------------------------------------------------------------------------ text handling
def test_inverted_exclamation_mark_is_kept(sms: Sms) -> None:
    texts = sms.send("¡Hola! ¿Necesito conductor?")
    assert sms.agent.received[0].text == "¡Hola! ¿Necesito conductor?"
    assert texts[0] == "Echo: ¡Hola! ¿Necesito conductor?"


def test_picture_message_gets_a_polite_text_reply(sms: Sms, clinic: ClinicProfile) -> None:
    texts = sms.send("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                     MediaContentType0="image/jpeg")
    assert len(texts) == 2  # first contact: the reply, then the notice
    assert "only read text" in texts[0] and clinic.phone in texts[0]
    assert sms.agent.received == []
    assert len(sms.send("   ")) == 1


def test_one_message_per_turn(make_channel: Callable[..., SecureTwilioInput],
                              make_server: Any) -> None:
    async def chatty(_: UserMessage) -> List[Reply]:
        return [{"text": "First part."}, {"text": "Second part.\n\nThird part."}]

    client = Sms(make_server(make_channel(), FakeAgent(responder=chatty)))
    client.send("hello")
    assert client.send("again") == ["First part.\nSecond part.\nThird part."]


def test_twiml_is_escaped(make_channel: Callable[..., SecureTwilioInput],
                          make_server: Any) -> None:
    tricky = 'Use <b>bold</b> & "quotes" </Message><Message>injected'

    async def markup(_: UserMessage) -> List[Reply]:
        return [{"text": tricky}]

    client = Sms(make_server(make_channel(), FakeAgent(responder=markup)))
    client.send("hello")
    reply = client.post(client.params("again"))
    assert "&lt;b&gt;" in reply.text and "&amp;" in reply.text
    assert messages_of(reply.text) == [tricky]


def test_twiml_helper_drops_xml_invalid_characters() -> None:
    assert messages_of(twiml(["a\x00b\x1bc"])) == ["abc"]
    assert twiml([]) == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_overlong_reply_is_capped_at_twilio_limit(
    make_channel: Callable[..., SecureTwilioInput], make_server: Any, clinic: ClinicProfile
) -> None:
    async def verbose(_: UserMessage) -> List[Reply]:
        return [{"text": "word " * 500}]

    client = Sms(make_server(make_channel(), FakeAgent(responder=verbose)))
    text = client.send("hello")[0]
    assert len(text) <= 1600 and text.endswith(f"call {clinic.phone}.")


def test_keyword_normalisation() -> None:
    assert keyword_of("  stop! ") == "STOP"
    assert keyword_of("Stop please") == "STOP PLEASE"


# ------------------------------------------------------------------------------ time budget
def test_slow_turn_answers_still_working_before_the_turn_ends(
    make_channel: Callable[..., SecureTwilioInput], make_server: Any, clinic: ClinicProfile
) -> None:
    """Past the budget Twilio gets "still working" while the turn goes on: the turn below
    only ends when the test releases it, after the reply (no wall-clock assertion)."""
    release = threading.Event()

    async def slow(message: UserMessage) -> List[Reply]:
        await asyncio.to_thread(release.wait, 30)
        return [{"text": "late answer"}]

    agent = FakeAgent(responder=slow)
    client = Sms(make_server(make_channel(turn_timeout_s=0.3), agent))
    try:
        texts = client.send("do i need a driver")
        assert agent.finished == []  # answered while the turn was still running
        assert "still working" in texts[0] and clinic.phone in texts[0]
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while not agent.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(agent.finished) == 1  # the turn was not cancelled


def test_failing_turn_gets_a_safe_reply_and_no_text_in_logs(
    make_channel: Callable[..., SecureTwilioInput],
    make_server: Any,
    clinic: ClinicProfile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(message: UserMessage) -> List[Reply]:
        raise RuntimeError(f"tracker dump with {message.text}")

    caplog.set_level(logging.DEBUG)
    client = Sms(make_server(make_channel(), FakeAgent(responder=broken)))
    texts = client.send("my canary text 4711")
    assert clinic.phone in texts[0] and clinic.emergency_number in texts[0]
    assert "4711" not in caplog.text


# ------------------------------------------------------------------------------ privacy
def test_no_phone_number_or_text_in_logs_ids_or_tables(
    sms: Sms, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    sms.post(sms.params("canary unsigned 4711"), signature=None)
    sms.send("canary first 4711")
    sms.send("do i need a driver")
    sms.send("2")
    params = sms.params("canary duplicate 4711")
    sms.post(params)
    sms.post(params)
    sms.send("HELP")
    sms.send("STOP")
    sms.send("canary suppressed 4711")
    sms.send("START")
    for record in caplog.records:
        line = record.getMessage()
        assert PHONE_DIGITS not in line and "4711" not in line, line
    assert all(PHONE_DIGITS not in sender for sender in stored_sender_ids(sms.agent))
    dump = "\n".join(sqlite3.connect(tmp_path / "sms_state.sqlite3").iterdump())
    assert PHONE_DIGITS not in dump and "4711" not in dump
    assert conversation_id_for(PHONE, ID_SECRET) in dump  # rows are keyed by the hash


def test_erasing_a_conversation_removes_all_its_sms_state(
    sms: Sms, store: SmsStateStore, tmp_path: Path
) -> None:
    sms.send("hello")
    sms.send("STOP")
    store.erase(conversation_id_for(PHONE, ID_SECRET))
    dump = "\n".join(sqlite3.connect(tmp_path / "sms_state.sqlite3").iterdump())
    assert conversation_id_for(PHONE, ID_SECRET) not in dump


def test_conversation_id_is_a_keyed_hash() -> None:
    first = conversation_id_for(PHONE, ID_SECRET)
    assert first == conversation_id_for(f" {PHONE} ", ID_SECRET)
    assert first != conversation_id_for(PHONE, b"another-secret-0123456789abcdefghijkl")
    assert first != conversation_id_for("+15550104243", ID_SECRET)


def test_channel_never_sends_on_its_own() -> None:
    """Replies go back in the webhook's TwiML only (the /webhooks/twilio/webhook route that
    every test above posts to); the channel has no outbound sender."""
    assert SecureTwilioInput("AC", "t", "+1").get_output_channel() is None


@pytest.mark.parametrize("key", ["notice", "help", "opted_in", "media_only", "still_working",
                                 "failure"])
def test_fixed_texts_fit_two_gsm7_segments_with_the_real_clinic(
        key: str, patient_texts: PatientTexts) -> None:
    texts = SmsTexts(patient_texts)
    text = getattr(texts, key)()
    assert "{" not in text and "\n" not in text
    assert encoding_of(text) == "GSM-7", text
    assert segment_count(text) <= 2, (segment_count(text), text)
    for language in patient_texts.languages:  # as sent: accents dropped where GSM-7 lacks them
        sent = fit_sms(getattr(texts, key)(language), texts.truncated(language))
        assert encoding_of(sent) == "GSM-7" and segment_count(sent) <= 2, (language, sent)


def test_the_real_texts_say_what_they_must_in_every_language(
        patient_texts: PatientTexts) -> None:
    """The notice names the emergency number and STOP, HELP the clinic, its phone and STOP,
    the opt-in confirmation an opt-out keyword, and every "cannot answer" text the clinic's
    phone and the emergency number (the English wording is checked in the tests above)."""
    clinic = profile_from(patient_texts)
    texts = SmsTexts(patient_texts)
    for language in patient_texts.languages:
        notice, help_text = texts.notice(language), texts.help(language)
        assert clinic.emergency_number in notice and "STOP" in notice, (language, notice)
        assert clinic.name in help_text and clinic.phone in help_text, (language, help_text)
        assert "STOP" in help_text, (language, help_text)
        words = {word.strip(".,;:!?¡¿") for word in texts.opted_in(language).split()}
        assert words & OPT_OUT_KEYWORDS, (language, texts.opted_in(language))
        for text in (texts.media_only(language), texts.still_working(language),
                     texts.failure(language)):
            assert clinic.phone in text and clinic.emergency_number in text, (language, text)
        assert clinic.phone in texts.truncated(language)
