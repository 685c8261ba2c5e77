"""Web session tokens, locally generated secrets, the clinic profile and the credentials files."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa.core.run import create_http_input_channels

from bot import runtime_guards
from bot.channels.clinic_profile import ClinicProfileError, load_clinic_profile, profile_from
from bot.channels.local_secrets import load_or_create_secret
from bot.channels.twilio_secure import SecureTwilioInput
from bot.channels.web_sessions import WebSessionSigner, key_id
from bot.channels.webchat import WebChatInput
from common.patient_texts import PatientTexts

REPO = Path(__file__).resolve().parents[3]
SECRET = b"s" * 32


# ------------------------------------------------------------------------------ web sessions
def test_tokens_round_trip_and_ids_are_random_uuid4() -> None:
    signer = WebSessionSigner(SECRET, 3600)
    first, second = signer.issue(), signer.issue()
    assert first.sender_id != second.sender_id
    assert first.sender_id.startswith("web:") and len(first.sender_id) == 4 + 36
    assert first.sender_id[4 + 14] == "4"  # UUID version 4
    verified = signer.verify(first.token)
    assert verified is not None and verified.sender_id == first.sender_id


def test_tokens_cannot_be_forged_or_reused_after_expiry() -> None:
    now = [5_000.0]
    signer = WebSessionSigner(SECRET, 100, clock=lambda: now[0])
    token = signer.issue().token
    assert WebSessionSigner(b"t" * 32, 100, clock=lambda: now[0]).verify(token) is None
    *header, payload, signature = token.split(".")  # v2.<key id>.<payload>.<signature>
    assert header == ["v2", key_id(SECRET)]
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    assert signer.verify(".".join([*header, flipped, signature])) is None
    other_signature = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert signer.verify(".".join([*header, payload, other_signature])) is None
    assert signer.verify(token + "x") is None
    assert signer.verify("x" * 1000) is None
    now[0] += 99
    assert signer.verify(token) is not None
    now[0] += 2
    assert signer.verify(token) is None


def test_short_session_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        WebSessionSigner(b"short", 10)


# ------------------------------------------------------------------------------ local secrets
def test_secret_is_generated_once_with_private_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TEST_CHANNEL_SECRET", raising=False)
    first = load_or_create_secret("TEST_CHANNEL_SECRET", "channel_secret")
    assert len(first) >= 32
    path = tmp_path / "channel_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret("TEST_CHANNEL_SECRET", "channel_secret") == first
    assert [p.name for p in tmp_path.iterdir()] == ["channel_secret"]  # no temp file left


def test_secret_from_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TEST_CHANNEL_SECRET", "e" * 40)
    assert load_or_create_secret("TEST_CHANNEL_SECRET", "channel_secret") == b"e" * 40
    assert not (tmp_path / "channel_secret").exists()
    monkeypatch.setenv("TEST_CHANNEL_SECRET", "too-short")
    with pytest.raises(RuntimeError):
        load_or_create_secret("TEST_CHANNEL_SECRET", "channel_secret")


# ------------------------------------------------------------------------------ clinic profile
def test_the_real_clinic_profile_has_the_channel_values(
    export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channels read the clinic from the KB export `make kb` writes into $DATA_DIR."""
    monkeypatch.setenv("DATA_DIR", str(export_dir))
    profile = load_clinic_profile()
    path = REPO / "data" / "kb" / "clinics" / "us_example.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))["clinic"]
    assert profile.name == document["name"]
    assert profile.phone == str(document["phone"])
    assert profile.emergency_number == str(document["emergency_number"])
    assert profile.crisis_line == str(document["crisis_line"])
    assert profile.default_language == document["default_language"]


def test_clinic_profile_without_emergency_number_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lacking = PatientTexts({"clinic": {"name": "X", "phone": "1", "emergency_number": "",
                                       "crisis_line": "988"}})
    with pytest.raises(ClinicProfileError, match="emergency_number"):
        profile_from(lacking)
    with pytest.raises(ClinicProfileError):
        profile_from(PatientTexts({}))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "no-export"))
    with pytest.raises(ClinicProfileError, match="make kb"):
        load_clinic_profile()


# ------------------------------------------------------------------------------ credentials
def _raw(path: Path) -> Dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture
def guard_installs(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """Loading the channels installs the runtime guards (SafeRestInput.from_credentials).
    They patch Rasa for the whole process (the gate over Agent.handle_message, log
    redaction, umask 077, ...), so here the call is recorded instead of made: the tests that
    ran after these ones in the same process got the patched Rasa."""
    calls: List[int] = []
    monkeypatch.setattr(runtime_guards, "install", lambda: calls.append(1))
    return calls


def test_local_credentials_need_no_twilio_variables(
    monkeypatch: pytest.MonkeyPatch, export_dir: Path, guard_installs: List[int]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(export_dir))  # the channels read the clinic from it
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    channels = create_http_input_channels(None, str(REPO / "credentials.yml"))
    names = {channel.name() for channel in channels}
    assert "webchat" in names and "twilio" not in names
    assert any(isinstance(channel, WebChatInput) for channel in channels)
    assert guard_installs  # the REST channel installs the guards at start-up


def test_twilio_credentials_use_placeholders_and_the_secure_channel(
    monkeypatch: pytest.MonkeyPatch, export_dir: Path, guard_installs: List[int]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(export_dir))
    path = REPO / "bot" / "channels" / "credentials.twilio.yml"
    raw = _raw(path)
    twilio = raw.pop("bot.channels.twilio_secure.SecureTwilioInput")
    assert twilio == {
        "account_sid": "${TWILIO_ACCOUNT_SID}",
        "auth_token": "${TWILIO_AUTH_TOKEN}",
        "twilio_number": "${TWILIO_NUMBER}",
    }
    assert "twilio" not in raw  # never Rasa's stock, unsigned connector
    assert raw == _raw(REPO / "credentials.yml")  # otherwise the same channels
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC123")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token-value")
    monkeypatch.setenv("TWILIO_NUMBER", "+15550100000")
    channels = create_http_input_channels(None, str(path))
    secure = [channel for channel in channels if isinstance(channel, SecureTwilioInput)]
    assert len(secure) == 1 and secure[0].auth_token == "token-value"
    assert secure[0].url_prefix() == "twilio"
