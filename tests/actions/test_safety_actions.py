"""Misses, handoff, and what patients get when the knowledge base cannot answer.

Failures are injected (a database that cannot be opened, a query that blocks until the test
releases it, an engine that raises); no test measures wall-clock time. The budget is proven by
the safe reply arriving while the injected work is still blocked.
"""

from __future__ import annotations

import ast
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions import handoff, respond
from actions.handoff import HandoffRequest, open_handoffs
from actions.kb.db import KbSettings
from actions.kb.snapshot import KbSnapshot
from common.patient_texts import PatientTexts
from tests.actions.conftest import REPO, ActionServer, TrackerFactory, slot_events

CANARY = "CANARY-DOB-1961-04-02 Maria Example"


def _unavailable(exported: PatientTexts, language: str = "en") -> str:
    return exported.text("assistant.unavailable", language).text


def _only_text(result: dict[str, Any]) -> str:
    [message] = result["responses"]
    assert not message.get("buttons") and not message.get("response")
    return str(message["text"])


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A KB URL whose SQLite file cannot even be created (its folder does not exist)."""
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/kb.sqlite3")


class Blocked:
    """Work that starts, then waits for the test to release it (or 30 s)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.started.set()
        self.release.wait(30)
        self.finished.set()
        raise RuntimeError("released after the test")


@pytest.fixture
def blocked() -> Iterator[Blocked]:
    work = Blocked()
    yield work
    work.release.set()


# ------------------------------------------------------------------------------ KB unavailable
@pytest.mark.parametrize("language", ["en", "es"])
async def test_database_down_gets_the_clinics_unavailable_text(
    action_server: ActionServer, exported: PatientTexts, database_down: None,
    caplog: pytest.LogCaptureFixture, language: str,
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await action_server("action_respond", CANARY, "ask_logistics",
                                     slots={"language": language})
    text = _only_text(result)
    assert text == _unavailable(exported, language)
    clinic = exported.clinic
    assert str(clinic["phone"]) in text and str(clinic["emergency_number"]) in text
    assert result["events"] == []
    assert "respond.kb_unavailable error=KnowledgeBaseUnavailable" in caplog.text
    assert "Maria" not in caplog.text and "CANARY" not in caplog.text


async def test_an_empty_database_gets_the_unavailable_text(
    action_server: ActionServer, exported: PatientTexts, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The KB was never built (`make kb` not run): no tables at all."""
    sqlite3.connect(tmp_path / "empty.sqlite3").close()
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    result = await action_server("action_respond", "do i need a driver", "ask_driver")
    assert _only_text(result) == _unavailable(exported)


async def test_a_slow_database_gets_the_unavailable_text_within_the_budget(
    action_server: ActionServer, exported: PatientTexts, monkeypatch: pytest.MonkeyPatch,
    blocked: Blocked,
) -> None:
    """The KB work is still blocked when the reply comes: the budget cut it off (without it,
    the action would wait for the release)."""
    monkeypatch.setenv("KB_QUERY_TIMEOUT_S", "0.2")
    monkeypatch.setattr(respond, "current_snapshot", blocked)
    result = await action_server("action_respond", "do i need a driver", "ask_driver")
    assert blocked.started.is_set() and not blocked.finished.is_set()
    assert _only_text(result) == _unavailable(exported)


async def test_an_engine_error_is_logged_by_type_without_patient_text(
    action_server: ActionServer, exported: PatientTexts, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(kb: KbSnapshot, turn: Any, state: Any, now: Any) -> Any:
        raise ValueError(f"boom while reading {turn.text}")

    monkeypatch.setattr(respond, "respond", broken)
    with caplog.at_level(logging.DEBUG):
        result = await action_server("action_respond", CANARY, "ask_driver")
    assert _only_text(result) == _unavailable(exported)
    assert "respond.failed error=ValueError" in caplog.text
    assert "Maria" not in caplog.text and "CANARY" not in caplog.text


async def test_a_text_missing_from_the_kb_is_an_outage_never_a_guess(
    action_server: ActionServer, exported: PatientTexts, monkeypatch: pytest.MonkeyPatch,
    kb_snapshot: KbSnapshot,
) -> None:
    """A KB that lacks the answer's text (both languages) says 'please call', not something
    else."""
    import dataclasses

    texts = {k: v for k, v in kb_snapshot.texts.items() if k[1] != "driver.taxi.false"}
    partial = dataclasses.replace(kb_snapshot, texts=texts)
    monkeypatch.setattr(respond, "current_snapshot", lambda session: partial)
    result = await action_server("action_respond", "can i take a taxi", "ask_driver")
    assert _only_text(result) == _unavailable(exported)


async def test_without_the_export_the_action_stays_silent_for_the_gate(
    action_server: ActionServer, database_down: None, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """No KB and no exported texts: the action sends nothing and the Rasa side's safety gate
    answers (tests/bot/channels/test_never_silent_channels.py). It never invents a text."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "no-export"))
    with caplog.at_level(logging.ERROR):
        result = await action_server("action_respond", CANARY, "ask_driver")
    assert result == {"events": [], "responses": []}
    assert "patient texts unavailable (PatientTextsMissing)" in caplog.text
    assert "CANARY" not in caplog.text


def _constant(path: Path, name: str) -> float:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return float(ast.literal_eval(node.value))
    raise AssertionError(f"{name} not found in {path}")


def test_the_kb_budget_is_inside_rasas_action_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The action server answers 'please call' before Rasa gives up on it (bot/runtime_guards:
    after the action budget the action counts as failed). Read without importing rasa."""
    monkeypatch.delenv("KB_QUERY_TIMEOUT_S", raising=False)
    action_budget = _constant(REPO / "bot" / "runtime_guards.py", "DEFAULT_ACTION_TIMEOUT_S")
    assert KbSettings.from_env().query_timeout_s < action_budget


# ------------------------------------------------------------------------------ misses
async def test_the_first_miss_offers_the_closest_topics_as_plain_text(
        action_server: ActionServer, exported: PatientTexts) -> None:
    result = await action_server("action_respond", "asdf qwerty", "nlu_fallback",
                                 confidence=0.3, ranking=[("nlu_fallback", 0.3),
                                                          ("ask_driver", 0.2), ("greet", 0.1),
                                                          ("ask_fasting", 0.05)])
    [message] = result["responses"]
    assert message["kb_entries"] == ["text.en.assistant.fallback"]
    assert [b["title"] for b in message["buttons"]] == [
        exported.text("label.driver").text, exported.text("label.fasting").text]
    assert [b["payload"] for b in message["buttons"]] == [
        exported.text("question.driver").text, exported.text("question.fasting").text]
    assert slot_events(result["events"]) == {"misses": 1}


async def test_the_second_miss_in_a_row_offers_a_person(action_server: ActionServer,
                                                        exported: PatientTexts) -> None:
    result = await action_server("action_respond", "zzz", "nlu_fallback", confidence=0.2,
                                 slots={"misses": 1})
    [message] = result["responses"]
    assert message["kb_entries"] == ["text.en.assistant.fallback_contact"]
    assert str(exported.clinic["phone"]) in message["text"]
    assert message["buttons"] == [{"title": exported.text("label.human").text,
                                   "payload": exported.text("question.human").text}]


async def test_an_answer_after_a_miss_resets_the_count(action_server: ActionServer) -> None:
    result = await action_server("action_respond", "do i need a driver", "ask_driver",
                                 slots={"misses": 1})
    assert slot_events(result["events"])["misses"] == 0


# ------------------------------------------------------------------------------ handoff
class CheckingDispatcher(CollectingDispatcher):
    """Records, for each message, whether the handoff record existed when it was sent."""

    def __init__(self, sender_id: str) -> None:
        super().__init__()
        self.sender_id = sender_id
        self.recorded_when_sent: list[bool] = []

    def utter_message(self, *args: Any, **kwargs: Any) -> None:
        self.recorded_when_sent.append(
            self.sender_id in [h.conversation_id for h in open_handoffs()])
        super().utter_message(*args, **kwargs)


async def test_a_handoff_is_recorded_before_the_reply(
    make_tracker: TrackerFactory, domain: dict[str, Any], exported: PatientTexts, kb_url: str,
) -> None:
    sender = f"web:{uuid.uuid4()}"
    tracker = make_tracker(CANARY, "request_human", sender_id=sender)
    dispatcher = CheckingDispatcher(sender)
    events = await handoff.ActionRequestHuman().run(dispatcher, tracker, domain)
    assert dispatcher.recorded_when_sent == [True]
    assert events == [{"event": "slot", "timestamp": None, "name": "handoff_requested",
                       "value": True}]
    [message] = dispatcher.messages
    done = exported.text("human.handoff")
    assert message["text"] == done.text and message["kb_entries"] == [done.entry]
    [request] = [h for h in open_handoffs(kb_url) if h.conversation_id == sender]
    assert request.channel == "webchat" and request.status == "open"
    # asking again does not create a second open request
    await handoff.ActionRequestHuman().run(CollectingDispatcher(), tracker, domain)
    assert [h.conversation_id for h in open_handoffs(kb_url)].count(sender) == 1


def test_the_handoff_record_holds_no_patient_text() -> None:
    columns = set(HandoffRequest.__table__.columns.keys())
    assert columns == {"id", "conversation_id", "channel", "created_at", "status"}


@pytest.mark.parametrize("language", ["en", "es"])
async def test_a_handoff_that_cannot_be_recorded_never_promises_a_call_back(
    action_server: ActionServer, exported: PatientTexts, database_down: None,
    caplog: pytest.LogCaptureFixture, language: str,
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await action_server("action_request_human", CANARY, "request_human",
                                     slots={"language": language})
    [message] = result["responses"]
    failed = exported.text("human.handoff_failed", language)
    assert message["text"] == failed.text and message["kb_entries"] == [failed.entry]
    assert message["text"] != exported.text("human.handoff", language).text
    assert result["events"] == []  # handoff_requested is only set when the record exists
    assert "handoff record not written (KnowledgeBaseUnavailable)" in caplog.text
    assert "CANARY" not in caplog.text


async def test_a_slow_handoff_record_gets_the_please_call_text_within_the_budget(
    action_server: ActionServer, exported: PatientTexts, monkeypatch: pytest.MonkeyPatch,
    blocked: Blocked,
) -> None:
    monkeypatch.setenv("KB_QUERY_TIMEOUT_S", "0.2")

    def record(session: Session, conversation_id: str, channel: str) -> int:
        blocked()
        return 0

    monkeypatch.setattr(handoff, "record_handoff", record)
    result = await action_server("action_request_human", "can i talk to a nurse",
                                 "request_human")
    assert blocked.started.is_set() and not blocked.finished.is_set()
    assert result["responses"][0]["text"] == exported.text("human.handoff_failed").text
    assert result["events"] == []


# ------------------------------------------------------------------------------ gate answered
async def test_a_message_the_gate_answered_is_recorded_with_the_gates_reply(
    action_server: ActionServer, exported: PatientTexts,
) -> None:
    """An urgent category that is also a topic ("I've got a cold, it's on Thursday") keeps the
    topic's intent (bot/nlu/gate_verdict.py); the transcript records the gate's reply, never a
    second, different answer."""
    reply = exported.text("triage.urgent", "en").text
    text = "ive got a stinking cold and my procedure is thursday"
    result = await action_server(
        "action_respond", text, "report_illness",
        entities=[{"entity": "triage_text", "value": reply, "start": 0, "end": len(text)},
                  {"entity": "alarm", "value": "urgent", "start": 0, "end": len(text)}])
    assert _only_text(result) == reply
    # Only the message's facts are kept (Thursday, to confirm); no topic is marked answered.
    assert set(slot_events(result["events"])) == {"appointment_candidate"}


async def test_without_the_gates_reply_the_topic_is_answered(
    action_server: ActionServer, exported: PatientTexts,
) -> None:
    result = await action_server("action_respond", "ive got a cold, is that a problem",
                                 "report_illness")
    texts = [r.get("text") or "" for r in result["responses"]]
    assert texts and texts[0].strip()
    assert exported.text("triage.urgent", "en").text not in " ".join(texts)


# ------------------------------------------------------------------------------ facts kept
GATE_ANSWERED = ("my neck RF is on december 2 at 8am and honestly i dont want to be alive "
                 "anymore")


def _gate_entities(text: str) -> list[dict[str, Any]]:
    """What the NLU adds to a message the gate answered (bot/nlu/gate_verdict.py), and the
    site the entity extractor finds."""
    start = text.find("neck")
    return [{"entity": "triage_text", "value": "Please call 988 now.", "start": 0,
             "end": len(text)},
            {"entity": "procedure_site", "value": "cervical", "start": start,
             "end": start + 4}]


async def test_a_message_the_gate_answered_keeps_its_facts_and_says_nothing(
        action_server: ActionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crisis line went out from the gate; the appointment and the site in the same
    message are still known for the questions after it, and the half-asked question is
    dropped."""
    from tests.actions.test_plan_actions import NOW, START_SLOT

    monkeypatch.setattr(respond, "now_utc", lambda: NOW)
    result = await action_server(
        "action_keep_facts", GATE_ANSWERED, "report_crisis",
        entities=_gate_entities(GATE_ANSWERED),
        slots={"pending": {"ask": "site", "topic": "blood_thinners", "key": "x"}})
    assert result["responses"] == []
    kept = slot_events(result["events"])
    assert kept["procedure_start"] == START_SLOT
    assert kept["procedure_site"] == "cervical"
    assert kept["pending"] is None


async def test_an_urgent_topic_message_the_gate_answered_keeps_its_facts(
        action_server: ActionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """An urgent category that is also a topic goes to action_respond: it records the gate's
    reply and keeps the facts too."""
    from tests.actions.test_plan_actions import NOW, START_SLOT

    monkeypatch.setattr(respond, "now_utc", lambda: NOW)
    result = await action_server("action_respond", GATE_ANSWERED, "ask_recovery",
                                 entities=_gate_entities(GATE_ANSWERED))
    assert [m["text"] for m in result["responses"]] == ["Please call 988 now."]
    assert slot_events(result["events"])["procedure_start"] == START_SLOT


async def test_facts_are_not_kept_when_the_database_is_down_and_nothing_leaks(
        action_server: ActionServer, database_down: None,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        result = await action_server("action_keep_facts", CANARY + " " + GATE_ANSWERED,
                                     "report_crisis")
    assert result == {"events": [], "responses": []}
    assert "respond.facts_not_kept error=KnowledgeBaseUnavailable" in caplog.text
    assert "Maria" not in caplog.text and "CANARY" not in caplog.text
