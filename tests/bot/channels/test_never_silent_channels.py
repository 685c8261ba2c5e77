"""The patient channels apply the never-silent net: a turn with no reply gets the KB text."""

from __future__ import annotations

from bot.never_silent import with_safety_net

RESPONSES = {"utter_service_unavailable": [{"text": "I can't look that up right now. Call us."}]}


def test_silent_turn_gets_the_unavailable_text() -> None:
    messages = with_safety_net("when do i stop eliquis", [], RESPONSES, "web:abc")
    assert [m["text"] for m in messages] == ["I can't look that up right now. Call us."]


def test_answered_turn_is_unchanged() -> None:
    answered = [{"recipient_id": "web:abc", "text": "Stop 3 days before."}]
    assert with_safety_net("when do i stop eliquis", answered, RESPONSES, "web:abc") == answered


def test_channels_call_the_net() -> None:
    """Both patient channels route their collected messages through with_safety_net."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "bot" / "channels"
    for module in ("webchat.py", "twilio_secure.py"):
        assert "with_safety_net(" in (root / module).read_text(), module
