"""A signed Twilio test client and a small KB export, for the SMS and rate-limit tests.

(A plain module: tests/bot runs before `make kb`, so these tests bring their own export.)
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests
from channel_harness import RunningApp
from twilio.request_validator import RequestValidator

from bot.channels.sms_state import SmsStateStore
from bot.channels.twilio_secure import SecureTwilioInput, SmsTexts
from common.patient_texts import PatientTexts

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ID_SECRET = b"test-sms-id-secret-0123456789abcdefghijkl"
PHONE = "+15550104242"
WEBHOOK = "/webhooks/twilio/webhook"
STATUS = "/webhooks/twilio/status"
_sids = itertools.count(1)

TEXTS = {
    "sms.notice": "Test Clinic: automated assistant, not a person. In an emergency call 911. "
                  "Reply STOP to opt out, HELP for help.",
    "sms.help": "Test Clinic automated assistant. Call +1 555 010 0199. In an emergency call "
                "911. Reply STOP to opt out.",
    "sms.opted_in": "Test Clinic: you will get replies again.",
    "sms.media_only": "Sorry, I can only read text.",
    "sms.still_working": "Still working on that. Call +1 555 010 0199.",
    "sms.failure": "Sorry, something went wrong. Call +1 555 010 0199.",
    "sms.truncated": "... More: call +1 555 010 0199.",
    "assistant.rate_limited": "You're sending messages very quickly. Please wait a moment, "
                              "then try again. In an emergency, call 911.",
    "assistant.unavailable": "Sorry, I can't look that up right now. Please call "
                             "+1 555 010 0199. If this is an emergency, call 911.",
    "triage.emergency": "Call 911 now or go to the nearest emergency department.",
    "triage.flag.weakness": "New weakness or numbness can be serious.",
}
CLINIC = {"name": "Test Clinic", "phone": "+1 555 010 0199", "emergency_number": "911",
          "crisis_line": "988", "default_language": "en", "time_zone": "UTC",
          "opening_hours": {}}


def export_data() -> Dict[str, Any]:
    """What `make kb` writes to patient_texts.json, reduced to the texts these tests use."""
    return {"clinic": CLINIC, "languages": ["en"], "kb_fingerprint": "test",
            "texts": {"en": {key: {"text": text, "entry": key, "source": "test"}
                             for key, text in TEXTS.items()}}}


def write_export(data_dir: Path) -> Path:
    """$DATA_DIR/generated/patient_texts.json for code that reads the export itself."""
    target = data_dir / "generated" / "patient_texts.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(export_data()), encoding="utf-8")
    return target


def make_channel(tmp_path: Path, **overrides: Any) -> SecureTwilioInput:
    options: Dict[str, Any] = {
        "account_sid": "AC" + "0" * 32,
        "auth_token": AUTH_TOKEN,
        "twilio_number": "+15550100000",
        "store": SmsStateStore(f"sqlite:///{tmp_path / 'sms_state.sqlite3'}"),
        "id_secret": ID_SECRET,
        "texts": SmsTexts(PatientTexts(export_data())),
        "turn_timeout_s": 5.0,
    }
    options.update(overrides)
    return SecureTwilioInput(**options)


def new_sid() -> str:
    return f"SM{next(_sids):032d}"


class Sms:
    """Posts Twilio-shaped, correctly signed webhooks (and status callbacks)."""

    def __init__(self, running: RunningApp, phone: str = PHONE) -> None:
        self.running = running
        self.phone = phone

    def params(self, body: str, **extra: str) -> Dict[str, str]:
        fields = {"Body": body, "From": self.phone, "To": "+15550100000",
                  "MessageSid": new_sid(), "AccountSid": "AC" + "0" * 32, "NumMedia": "0",
                  "ApiVersion": "2010-04-01"}
        fields.update(extra)
        return fields

    def post(self, path: str, params: Dict[str, str], sign: bool = True,
             signed_url: Optional[str] = None) -> requests.Response:
        url = self.running.base_url + path
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(
                signed_url or url, params)
        return requests.post(url, data=params, headers=headers, timeout=20)

    def send(self, body: str, **extra: str) -> List[str]:
        """A signed SMS; the texts of the TwiML <Message> elements of the reply."""
        return [text for text, _ in self.send_full(body, **extra)]

    def send_full(self, body: str, **extra: str) -> List[tuple[str, Dict[str, str]]]:
        """A signed SMS; (text, attributes) of each <Message> of the reply."""
        reply = self.post(WEBHOOK, self.params(body, **extra))
        assert reply.status_code == 200, reply.text
        root = ET.fromstring(reply.text)
        assert root.tag == "Response"
        return [(element.text or "", dict(element.attrib)) for element in root.findall("Message")]
