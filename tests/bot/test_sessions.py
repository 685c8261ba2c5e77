"""bot/sessions.py: a turn's cost stays flat however long the conversation.

Rasa's own objects (MessageProcessor, ActionSessionStart, RemoteAction, DialogueStateTracker)
with the patches installed; no model or server needed.
"""

from __future__ import annotations

import os
from typing import Any, List

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.core.actions.action import ActionSessionStart, RemoteAction  # noqa: E402
from rasa.core.processor import MessageProcessor  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402
from rasa.utils.endpoints import EndpointConfig  # noqa: E402

from bot import sessions  # noqa: E402

DOMAIN = Domain.from_yaml("""
version: "3.1"
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
slots:
  procedure_site: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  last_topic: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  misses: {type: float, influence_conversation: false, mappings: [{type: custom}]}
actions: [action_respond]
""")


def conversation(turns: int, sender: str = "web:long") -> DialogueStateTracker:
    """A session of `turns` turns shaped like ours: the site once, two slots every turn."""
    events: List[Any] = [ActionExecuted("action_session_start"), SessionStarted(),
                         ActionExecuted("action_listen")]
    for turn in range(turns):
        events += [UserUttered(f"question {turn}", {"name": "ask_fasting", "confidence": 1.0},
                               input_channel="webchat"),
                   ActionExecuted("action_respond"), BotUttered(f"answer {turn}"),
                   SlotSet("last_topic", f"topic {turn}"), SlotSet("misses", float(turn % 2)),
                   ActionExecuted("action_listen")]
        if turn == 0:
            events.append(SlotSet("procedure_site", "cervical"))
    return DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)


@pytest.fixture(autouse=True)
def installed() -> None:
    sessions.install()


def processor() -> MessageProcessor:
    proc = MessageProcessor.__new__(MessageProcessor)  # only the session check is used
    proc.domain = DOMAIN
    return proc


def test_a_long_session_counts_as_expired() -> None:
    limit = sessions.max_session_events()
    short = conversation(3)
    long = conversation(limit // 6 + 5)
    assert sessions.session_event_count(long) > limit
    assert not processor()._has_session_expired(short)
    assert processor()._has_session_expired(long)


def test_a_paused_conversation_is_never_rolled_over() -> None:
    long = conversation(sessions.max_session_events() // 6 + 5)
    long.update(ConversationPaused())
    assert not processor()._has_session_expired(long)


def test_the_new_session_carries_each_slot_once_with_its_latest_value() -> None:
    long = conversation(100)
    carried = ActionSessionStart._slot_set_events_from_tracker(long)
    assert [(e.key, e.value) for e in carried] == [
        ("procedure_site", "cervical"), ("last_topic", "topic 99"), ("misses", 1.0)]


async def test_rollover_keeps_the_slots_and_bounds_the_session() -> None:
    """Rasa's own session start, after the patches: the new session starts small and every
    slot has the value it had."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator

    long = conversation(200)
    before = {name: long.get_slot(name) for name in ("procedure_site", "last_topic", "misses")}
    events = await ActionSessionStart().run(CollectingOutputChannel(),
                                            TemplatedNaturalLanguageGenerator({}), long, DOMAIN)
    long.update_with_events(events, DOMAIN)
    assert sessions.session_event_count(long) == len(events) - 1 <= 2 + 3
    assert {name: long.get_slot(name) for name in before} == before


def test_the_action_server_gets_slots_and_the_current_turn_only() -> None:
    long = conversation(300)
    action = RemoteAction("action_respond", EndpointConfig(
        "http://127.0.0.1:1/webhook", enable_selective_domain=True))
    call = action._action_call_format(long, DOMAIN)
    events = call["tracker"]["events"]
    assert [e["event"] for e in events] == ["user", "action", "bot", "slot", "slot", "action"]
    assert events[0]["text"] == "question 299"
    assert call["tracker"]["slots"]["procedure_site"] == "cervical"
    assert call["tracker"]["latest_message"]["text"] == "question 299"
    assert call["tracker"]["latest_input_channel"] == "webchat"
    assert "domain" not in call  # enable_selective_domain (endpoints.yml)
    small = action._action_call_format(conversation(1), DOMAIN)
    assert len(small["tracker"]["events"]) == len(events) + 1  # the same turn, plus a slot


def test_rasa_sdk_reads_what_the_actions_need_from_the_trimmed_call() -> None:
    """actions/respond.py and actions/handoff.py read these through rasa_sdk's Tracker."""
    pytest.importorskip("rasa_sdk")
    from rasa_sdk import Tracker

    call = RemoteAction("action_respond", None)._action_call_format(conversation(50), DOMAIN)
    tracker = Tracker.from_dict(call["tracker"])
    assert tracker.get_latest_input_channel() == "webchat"
    assert tracker.latest_message["text"] == "question 49"
    assert tracker.get_slot("procedure_site") == "cervical"
    assert tracker.sender_id == "web:long"


def test_endpoints_turn_on_the_selective_domain() -> None:
    from pathlib import Path

    import yaml

    endpoints = yaml.safe_load((Path(__file__).resolve().parents[2] / "endpoints.yml")
                               .read_text())
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True


def test_session_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_MAX_EVENTS", "80")
    assert sessions.max_session_events() == 80
    monkeypatch.setenv("SESSION_MAX_EVENTS", "3")
    assert sessions.max_session_events() == sessions.MIN_MAX_EVENTS
    monkeypatch.setenv("SESSION_MAX_EVENTS", "many")
    assert sessions.max_session_events() == sessions.DEFAULT_MAX_EVENTS
