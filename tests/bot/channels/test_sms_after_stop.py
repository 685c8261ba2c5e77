"""SMS after STOP, and delivery tracking.

The tester found: HELP/AYUDA after STOP got empty TwiML, an emergency texted after STOP was
dropped with no alert, and no reply carried a statusCallback. The gate here is the real
SafetyGate with a test triage (the legs sentence is an emergency) and a recording alert sink.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from channel_harness import FakeAgent, RunningApp
from sms_client import ID_SECRET, PHONE, STATUS, TEXTS, WEBHOOK, Sms, export_data, make_channel
from sqlalchemy import inspect

from bot import runtime_guards
from bot.channels.twilio_secure import conversation_id_for
from bot.safety.gate import ConversationLanguages, SafetyGate
from bot.safety.triage import Verdict
from common.patient_texts import PatientTexts

EMERGENCY = "I can't feel my legs since the procedure"
INSTRUCTION = f"{TEXTS['triage.emergency']} {TEXTS['triage.flag.weakness']}"


class FakeTriage:
    def assess(self, text: str, language: Optional[str] = None) -> Verdict:
        if "feel my legs" in text:
            return Verdict("emergency", "red_flag.weakness", "weakness_numbness", language or "en")
        return Verdict("routine", None, None, language or "en")

    def is_minimising(self, text: str) -> bool:
        return False



class RecordingSink:
    def __init__(self) -> None:
        self.alerts: List[Dict[str, Any]] = []

    def record(self, **alert: Any) -> None:
        self.alerts.append(alert)


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> RecordingSink:
    recording = RecordingSink()
    gate = SafetyGate(FakeTriage(), ConversationLanguages(()), alerts=recording,
                      texts=lambda: PatientTexts(export_data()))
    monkeypatch.setattr(runtime_guards, "_gate", gate)
    return recording


@pytest.fixture
def sms(tmp_path: Path, make_server: Callable[..., RunningApp], sink: RecordingSink) -> Sms:
    return Sms(make_server(make_channel(tmp_path), FakeAgent()))


@pytest.mark.parametrize("keyword", ["HELP", "help", "AYUDA", "Info"])
def test_help_after_stop_gets_the_help_text(sms: Sms, keyword: str) -> None:
    assert sms.send("STOP") == []
    assert sms.send(keyword) == [TEXTS["sms.help"]]
    assert sms.send("what time do I arrive?") == []  # still opted out
    assert sms.running.agent.received == []


def test_an_emergency_after_stop_gets_the_instruction_and_an_alert(
        sms: Sms, sink: RecordingSink, caplog: pytest.LogCaptureFixture) -> None:
    sms.send("STOP")
    with caplog.at_level(logging.INFO):
        assert sms.send(EMERGENCY) == [INSTRUCTION]  # that message only: no notice, no turn
    assert sms.running.agent.received == []
    assert sink.alerts == [{"level": "emergency", "category": "weakness_numbness",
                            "flag_id": "red_flag.weakness", "channel": "twilio",
                            "conversation_id": conversation_id_for(PHONE, ID_SECRET)}]
    lines = [r.getMessage() for r in caplog.records if "safety.triage" in r.getMessage()]
    assert len(lines) == 1 and "opted_out=yes" in lines[0]
    assert "legs" not in caplog.text and PHONE[1:] not in caplog.text
    assert sms.send("ok thanks") == []  # and then silence again


def test_without_an_alert_store_the_log_line_is_the_alert(
        sms: Sms, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(runtime_guards.current_gate(), "alerts", None)
    sms.send("BAJA")
    with caplog.at_level(logging.INFO):
        assert sms.send(EMERGENCY) == [INSTRUCTION]
    assert sum("safety.triage level=emergency" in r.getMessage() for r in caplog.records) == 1


def test_every_reply_carries_the_status_callback(sms: Sms) -> None:
    replies = sms.send_full("hello")  # the answer and the first-contact notice
    assert len(replies) == 2
    expected = sms.running.base_url + STATUS
    assert all(attributes.get("statusCallback") == expected for _, attributes in replies)
    assert all(a["statusCallback"] == expected for _, a in sms.send_full("HELP"))


def test_the_status_callback_uses_the_public_origin(
        tmp_path: Path, make_server: Callable[..., RunningApp], sink: RecordingSink) -> None:
    channel = make_channel(tmp_path, public_base_url="https://assistant.clinic.example")
    sms = Sms(make_server(channel, FakeAgent()))
    params = sms.params("hello")
    reply = sms.post(WEBHOOK, params, signed_url="https://assistant.clinic.example" + WEBHOOK)
    assert 'statusCallback="https://assistant.clinic.example/webhooks/twilio/status"' in reply.text


def test_delivery_status_is_recorded_by_message_sid_without_text(
        tmp_path: Path, make_server: Callable[..., RunningApp], sink: RecordingSink,
        caplog: pytest.LogCaptureFixture) -> None:
    channel = make_channel(tmp_path)
    sms = Sms(make_server(channel, FakeAgent()))
    sid = "SM" + "d" * 32
    report = {"MessageSid": sid, "MessageStatus": "sent", "To": PHONE, "From": "+15550100000",
              "AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01"}
    assert sms.post(STATUS, report).status_code == 204
    assert channel.store.delivery(sid) == ("sent", None)
    with caplog.at_level(logging.WARNING):
        failed = {**report, "MessageStatus": "undelivered", "ErrorCode": "30003"}
        assert sms.post(STATUS, failed).status_code == 204
    assert channel.store.delivery(sid) == ("undelivered", "30003")
    assert "twilio.delivery.failed status=undelivered error=30003" in caplog.text
    columns = {c["name"] for c in inspect(channel.store.engine).get_columns("sms_delivery_status")}
    assert columns == {"message_sid", "conversation_hash", "status", "error_code", "updated_at"}
    forged = {**report, "MessageSid": "SM" + "e" * 32, "MessageStatus": "delivered"}
    assert sms.post(STATUS, forged, sign=False).status_code == 403
    assert channel.store.delivery("SM" + "e" * 32) is None
    channel.store.erase(conversation_id_for(PHONE, ID_SECRET))
    assert channel.store.delivery(sid) is None
