"""bot/never_silent.py: the patient never gets silence back."""

from __future__ import annotations

from bot.never_silent import (
    LAST_RESORT_TEXT,
    never_silent,
    responses_of,
    unavailable_text,
    with_safety_net,
)

RESPONSES = {"utter_service_unavailable": [{"text": "I can't look that up. Call 555."}]}


def test_no_bot_message_for_a_message_gives_the_unavailable_text() -> None:
    assert never_silent("do I stop my blood thinner?", [], RESPONSES) == (
        "I can't look that up. Call 555.")


def test_a_visible_reply_needs_no_net() -> None:
    assert never_silent("hi", [{"recipient_id": "a", "text": "Hello"}], RESPONSES) is None
    assert never_silent("hi", [{"recipient_id": "a", "buttons": [{"title": "x"}]}],
                        RESPONSES) is None
    assert never_silent("hi", [{"recipient_id": "a", "image": "https://x/y.png"}],
                        RESPONSES) is None


def test_invisible_messages_count_as_silence() -> None:
    assert never_silent("hi", [{"recipient_id": "a", "text": "   "}], RESPONSES) is not None
    assert never_silent("hi", [{"recipient_id": "a"}], RESPONSES) is not None


def test_empty_user_message_needs_no_reply() -> None:
    assert never_silent("", [], RESPONSES) is None
    assert never_silent("  \n", [], RESPONSES) is None
    assert never_silent(None, [], RESPONSES) is None


def test_missing_response_falls_back_to_the_last_resort_text() -> None:
    assert unavailable_text({}) == LAST_RESORT_TEXT
    assert unavailable_text(None) == LAST_RESORT_TEXT
    assert unavailable_text({"utter_service_unavailable": [{"custom": {}}]}) == LAST_RESORT_TEXT


def test_responses_of_reads_the_agent_domain() -> None:
    class Domain:
        responses = RESPONSES

    class Agent:
        domain = Domain()

    assert responses_of(Agent()) is RESPONSES
    assert responses_of(None) == {}


def test_with_safety_net_appends_one_message() -> None:
    assert with_safety_net("hi", [], RESPONSES, "p1") == [
        {"recipient_id": "p1", "text": "I can't look that up. Call 555."}]
    reply = [{"recipient_id": "p1", "text": "Hello"}]
    assert with_safety_net("hi", reply, RESPONSES, "p1") == reply


def test_the_real_domain_has_the_clinic_text() -> None:
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "data/nlu/responses/kb_safety.yml"
    responses = yaml.safe_load(path.read_text())["responses"]
    text = unavailable_text(responses)
    assert text != LAST_RESORT_TEXT and "call" in text.lower()
