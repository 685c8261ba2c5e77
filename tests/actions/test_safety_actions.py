"""Fallback, handoff, and what patients get when the knowledge base cannot be read."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.answers import Reply
from actions.base import KbAction, Turn
from actions.fallback import ActionHandleFallback
from actions.handoff import ActionRequestHuman, open_handoffs
from actions.topics import ActionAnswerTopic
from tests.actions.conftest import TrackerFactory


def _user(intent: str) -> dict[str, Any]:
    return {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}


async def test_first_fallback_offers_closest_topics(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("asdf", "nlu_fallback", events=[_user("nlu_fallback")],
                           ranking=[("nlu_fallback", 0.5), ("ask_driver", 0.3),
                                    ("greet", 0.1), ("ask_fasting", 0.05)])
    assert await ActionHandleFallback().run(dispatcher, tracker, domain) == []
    message = dispatcher.messages[0]
    assert message["response"] == "utter_rephrase"
    assert [b["payload"] for b in message["buttons"]] == ["/ask_driver", "/ask_fasting"]


async def test_second_fallback_in_a_row_gives_the_clinic(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    events = [_user("greet"), _user("nlu_fallback"), {"event": "bot"}, _user("nlu_fallback")]
    tracker = make_tracker("qwerty", "nlu_fallback", events=events)
    await ActionHandleFallback().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_fallback_contact"


async def test_handoff_records_and_pauses(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict, kb_url: str
) -> None:
    tracker = make_tracker("can i talk to a nurse", "request_human",
                           sender_id="web:handoff-test")
    events = await ActionRequestHuman().run(dispatcher, tracker, domain)
    assert events == [SlotSet("handoff_requested", True), ConversationPaused()]
    assert "web:handoff-test" in [h.conversation_id for h in open_handoffs(kb_url)]
    # asking again does not create a second open request
    await ActionRequestHuman().run(dispatcher, tracker, domain)
    assert [h.conversation_id for h in open_handoffs(kb_url)].count("web:handoff-test") == 1


async def test_database_down_gets_the_safe_reply(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/kb.sqlite3")
    canary = "CANARY-PATIENT-TEXT-12345"
    with caplog.at_level(logging.DEBUG):
        events = await ActionAnswerTopic().run(
            dispatcher, make_tracker(canary, "ask_logistics"), domain)
    assert events == []
    assert dispatcher.messages == [_unavailable()]
    assert canary not in caplog.text


class _SlowAction(KbAction):
    """A KB query that only finishes when the test releases it (or after 30 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def name(self) -> str:
        return "action_slow_test"

    def compose(self, session: Session, turn: Turn) -> Reply:
        self.started.set()
        self.release.wait(30)
        self.finished.set()
        return Reply()


class _BrokenAction(KbAction):
    def name(self) -> str:
        return "action_broken_test"

    def compose(self, session: Session, turn: Turn) -> Reply:
        raise RuntimeError(f"boom with patient text {turn.text}")


async def test_slow_database_gets_the_safe_reply_within_budget(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The budget cuts the query off: the safe reply comes while the query still runs (no
    wall-clock assertion; without the budget, run() would wait for the release below)."""
    monkeypatch.setenv("KB_QUERY_TIMEOUT_S", "0.3")
    action = _SlowAction()
    try:
        await action.run(dispatcher, make_tracker("hi", "greet"), domain)
        assert action.started.is_set() and not action.finished.is_set()
        assert dispatcher.messages == [_unavailable()]
    finally:
        action.release.set()


async def test_action_error_is_logged_without_patient_text(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict,
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = "CANARY-DOB-1961-04-02"
    with caplog.at_level(logging.DEBUG):
        await _BrokenAction().run(dispatcher, make_tracker(canary, "greet"), domain)
    assert dispatcher.messages == [_unavailable()]
    assert "RuntimeError" in caplog.text and canary not in caplog.text


def _unavailable() -> dict[str, Any]:
    """What CollectingDispatcher records for utter_message(response="utter_service_unavailable")."""
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_service_unavailable")
    return dispatcher.messages[0]
