"""A call-back is promised only after its record is written (actions/handoff.py).

The tester got "I've passed a note to the team" while nothing was recorded. The action now
writes the handoff_request row first: written -> the KB's human.handoff text; database down or
too slow -> human.handoff_failed ("please call"), never the promise. The third case, the action
server itself down, is the Rasa side's: the safety gate's "please call" text
(tests/bot/safety/test_gate_handoff.py, and end to end in tests/production).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, text

from actions import handoff
from actions.handoff import ActionRequestHuman, open_handoffs
from actions.kb.db import KnowledgeBaseUnavailable
from actions.kb.export import write_patient_texts
from actions.kb.loader import load_kb
from common.patient_texts import load

REPO = Path(__file__).resolve().parents[2]


def fresh_conversation() -> str:
    """A conversation id of the longest format (68 characters), new for each test: the KB
    database is shared by the session's tests, so a fixed id would see another test's rows."""
    return "sms:" + secrets.token_hex(32)


@pytest.fixture(autouse=True)
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    content, problems = load_kb(REPO / "data" / "kb")
    assert content is not None, problems
    write_patient_texts(content, tmp_path / "data")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    yield


def kb_text(key: str) -> str:
    return load().text(key, "en").text


async def run(make_tracker: Any, conversation: str = ""
              ) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text="can I talk to a person", intent="request_human",
                           sender_id=conversation or fresh_conversation(),
                           events=[{"event": "user", "text": "can I talk to a person",
                                    "input_channel": "twilio"}])
    events = await ActionRequestHuman().run(dispatcher, tracker, {})
    return dispatcher, events


async def test_record_written_then_the_handoff_text(make_tracker: Any, kb_url: str) -> None:
    conversation = fresh_conversation()
    dispatcher, events = await run(make_tracker, conversation)
    assert [m["text"] for m in dispatcher.messages] == [kb_text("human.handoff")]
    assert events == [{"event": "slot", "timestamp": None, "name": "handoff_requested",
                       "value": True}]
    # the KB database is shared with other tests: look at this conversation's requests only
    rows = [(r.conversation_id, r.channel, r.status) for r in open_handoffs(kb_url)
            if r.conversation_id == conversation]
    assert rows == [(conversation, "twilio", "open")]
    again, _ = await run(make_tracker, conversation)  # asking twice keeps one open request
    mine = [r for r in open_handoffs(kb_url) if r.conversation_id == conversation]
    assert len(mine) == 1 and again.messages[0]["text"] == kb_text("human.handoff")


async def test_database_down_gets_the_failed_text_and_no_promise(
        make_tracker: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KB_DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/kb.sqlite3")
    dispatcher, events = await run(make_tracker)
    assert [m["text"] for m in dispatcher.messages] == [kb_text("human.handoff_failed")]
    assert events == []  # handoff_requested stays unset: nothing was recorded
    assert kb_text("human.handoff") not in str(dispatcher.messages)


async def test_a_record_that_times_out_is_not_promised(
        make_tracker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def times_out(work: Any) -> Any:
        raise KnowledgeBaseUnavailable("knowledge base query timed out")

    monkeypatch.setattr(handoff, "query_kb", times_out)
    dispatcher, events = await run(make_tracker)
    assert [m["text"] for m in dispatcher.messages] == [kb_text("human.handoff_failed")]
    assert events == []


async def test_the_promise_comes_only_after_the_commit(
        make_tracker: Any, monkeypatch: pytest.MonkeyPatch, kb_url: str) -> None:
    """The promise is uttered after record_handoff committed (seen from another connection)."""
    order: list[str] = []
    real = handoff.record_handoff

    def recording(session: Any, conversation_id: str, channel: str) -> int:
        identifier = real(session, conversation_id, channel)
        with create_engine(kb_url).connect() as connection:  # visible to another connection
            count = connection.execute(text("SELECT count(*) FROM handoff_request "
                                            "WHERE conversation_id = :c"),
                                       {"c": conversation_id}).scalar()
        order.append(f"committed:{count}")
        return identifier

    class Dispatcher(CollectingDispatcher):
        def utter_message(self, *args: Any, **kwargs: Any) -> None:
            order.append("promised" if kwargs.get("text") == kb_text("human.handoff")
                         else "other reply")
            super().utter_message(*args, **kwargs)

    monkeypatch.setattr(handoff, "record_handoff", recording)
    tracker = make_tracker(text="a person please", intent="request_human",
                           sender_id=fresh_conversation())
    await ActionRequestHuman().run(Dispatcher(), tracker, {})
    assert order == ["committed:1", "promised"]
