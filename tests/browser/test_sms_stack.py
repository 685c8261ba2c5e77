"""Acceptance: the SMS webhook of the real stack (trained model, action server, KB).

A correctly signed "do i need a driver" gets an SMS-sized TwiML answer (then, on first
contact, the notice from the KB). The same request
unsigned, or with a tampered body, gets 403 and leaves no trace in the tracker. The stack runs
with test Twilio credentials (tests/browser/conftest.py), so no Twilio account is involved.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from typing import Dict, List

import pytest
import requests
from stack_harness import Stack
from twilio.request_validator import RequestValidator

from bot.channels.sms_segments import MAX_MESSAGE_CHARS, encoding_of, segment_count
from common.patient_texts import load as load_patient_texts

pytestmark = pytest.mark.slow

# One number per test: the first message from a number gets the notice, so a test that shares
# a number with another would depend on which of them runs first.
PHONE = "+15550104711"
OTHER_PHONE = "+15550104712"
_counter = iter(range(1, 10_000))


def params(body: str, phone: str = PHONE) -> Dict[str, str]:
    return {
        "MessageSid": f"SMstack{next(_counter):026d}",
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+15550100000",
        "Body": body,
        "NumMedia": "0",
        "FromCity": "",
        "FromState": "",
    }


def signature(stack: Stack, fields: Dict[str, str]) -> str:
    validator = RequestValidator(stack.env["TWILIO_AUTH_TOKEN"])
    return str(validator.compute_signature(stack.sms_url, fields))


def post(stack: Stack, fields: Dict[str, str], sig: str | None) -> requests.Response:
    headers = {"X-Twilio-Signature": sig} if sig is not None else {}
    return requests.post(stack.sms_url, data=fields, headers=headers, timeout=30)


def messages(response: requests.Response) -> List[str]:
    return [m.text or "" for m in ET.fromstring(response.text).findall("Message")]


def user_event_count(stack: Stack) -> int:
    with sqlite3.connect(stack.tracker_db) as db:
        row = db.execute(
            "SELECT COUNT(*) FROM events WHERE type_name = 'user' AND sender_id LIKE 'sms:%'"
        ).fetchone()
    return int(row[0])


def test_signed_sms_gets_an_sms_sized_answer_and_forgeries_get_403(stack: Stack) -> None:
    before = user_event_count(stack)

    unsigned = post(stack, params("do i need a driver"), None)
    assert unsigned.status_code == 403

    tampered = params("do i need a driver")
    sig = signature(stack, tampered)
    tampered["Body"] = "when is my procedure"
    assert post(stack, tampered, sig).status_code == 403
    assert user_event_count(stack) == before  # no trace of either forgery

    fields = params("do i need a driver")
    reply = post(stack, fields, signature(stack, fields))
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/xml")
    # A real answer, not "still working": the turn finished within the channel's budget
    # (SMS_TURN_TIMEOUT_SECONDS, below Twilio's 15 s); no wall-clock assertion here.
    texts = load_patient_texts(stack.data_dir / "generated" / "patient_texts.json")
    more = f"1. {texts.text('label.more', 'en').text}"
    answer, notice = messages(reply)  # the answer first, then the first-contact notice
    assert notice == texts.text("sms.notice", "en").text
    assert "STOP" in notice
    assert "take you home" in answer and answer.endswith(more)  # quick replies numbered
    for text in (notice, answer):
        assert len(text) <= MAX_MESSAGE_CHARS
        assert encoding_of(text) == "GSM-7"
        assert segment_count(text) <= 4  # a short SMS thread, not a wall of text
    assert user_event_count(stack) == before + 1

    # The retry of the same delivery is not processed again; "1" picks "Tell me more".
    assert messages(post(stack, fields, signature(stack, fields))) == []
    choice = params("1")
    detail = messages(post(stack, choice, signature(stack, choice)))
    assert len(detail) == 1 and detail[0] != answer and "1. " not in detail[0][:3]
    assert user_event_count(stack) == before + 2


def test_no_phone_number_in_tracker_ids_or_log(stack: Stack) -> None:
    """After SMS turns of its own: the number appears nowhere, only its keyed hash."""
    for body in ("do i need a driver", "2"):
        fields = params(body, OTHER_PHONE)
        assert post(stack, fields, signature(stack, fields)).status_code == 200
    with sqlite3.connect(stack.tracker_db) as db:
        senders = [row[0] for row in db.execute("SELECT DISTINCT sender_id FROM events")]
    sms_ids = [s for s in senders if s.startswith("sms:")]
    assert sms_ids and all(len(s) == 4 + 64 for s in sms_ids)
    digits = OTHER_PHONE.lstrip("+")
    assert not any(digits in s for s in senders)
    assert digits not in stack.log_text()
    state = stack.data_dir / "sms_state.sqlite3"
    assert digits not in "\n".join(sqlite3.connect(state).iterdump())
    secret = stack.data_dir / "sms_id_secret"
    assert secret.stat().st_mode & 0o777 == 0o600
