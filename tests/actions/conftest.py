"""Fixtures for action tests: the shipped KB built into a temporary SQLite database and exported
like `make kb` does, the action server's executor, trackers as the action server receives them,
and the domain read as plain YAML (no `rasa` import)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from sqlalchemy.orm import sessionmaker

from actions.handoff import ActionRequestHuman
from actions.kb.builder import build_database
from actions.kb.db import get_engine
from actions.kb.export import write_patient_texts
from actions.kb.loader import KbContent, load_kb
from actions.kb.snapshot import KbSnapshot, build_snapshot
from actions.respond import ActionKeepFacts, ActionRespond
from common.patient_texts import PatientTexts
from common.patient_texts import load as load_patient_texts

REPO = Path(__file__).resolve().parents[2]
CLINIC = "us_example"  # the profile the expectations are written for (not KB_CLINIC)


@pytest.fixture(scope="session")
def kb_content() -> KbContent:
    """The shipped KB with the US example profile."""
    content, problems = load_kb(REPO / "data" / "kb", CLINIC)
    assert content is not None, problems
    return content


@pytest.fixture(scope="session")
def kb_url(tmp_path_factory: pytest.TempPathFactory, kb_content: KbContent) -> str:
    """The shipped KB in a temporary SQLite file (the engine factory `make kb` uses)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.sqlite3'}"
    build_database(kb_content, get_engine(url), "data/kb")
    return url


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory, kb_content: KbContent) -> Path:
    """$DATA_DIR with generated/patient_texts.json, as `make kb` writes it."""
    directory = tmp_path_factory.mktemp("data")
    write_patient_texts(kb_content, directory)
    return directory


@pytest.fixture(autouse=True)
def _kb_env(monkeypatch: pytest.MonkeyPatch, kb_url: str, data_dir: Path) -> Iterator[None]:
    monkeypatch.setenv("KB_DATABASE_URL", kb_url)
    monkeypatch.setenv("KB_QUERY_TIMEOUT_S", "5")
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    yield


@pytest.fixture(scope="session")
def kb_snapshot(kb_url: str) -> KbSnapshot:
    """The read model the engine answers from."""
    with sessionmaker(get_engine(kb_url))() as session:
        return build_snapshot(session)


@pytest.fixture
def exported(data_dir: Path) -> PatientTexts:
    """The texts the action server uses when the KB database cannot answer."""
    return load_patient_texts(data_dir / "generated" / "patient_texts.json")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((REPO / "domain.yml").read_text("utf-8"))


def tracker_state(
    text: str = "",
    intent: str = "",
    medications: tuple[str, ...] = (),
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    ranking: list[tuple[str, float]] | None = None,
    sender_id: str | None = None,
    channel: str = "webchat",
    confidence: float = 0.9,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The tracker JSON Rasa posts to the action server for the latest user message (its
    events: the user message on `channel`, unless `events` are given; `entities` besides the
    `medications` found in the text)."""
    entities = list(entities or [])
    for name in medications:
        start = text.lower().find(name.lower())
        entities.append({"entity": "medication", "value": name, "start": max(start, 0),
                         "end": max(start, 0) + len(name)})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities,
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
    }
    return {
        "sender_id": sender_id or f"web:{uuid.uuid4()}",
        "slots": dict(slots or {}),
        "latest_message": latest,
        "events": list(events) if events is not None else [
            {"event": "user", "text": text, "parse_data": latest, "input_channel": channel}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }


TrackerFactory = Callable[..., Tracker]


@pytest.fixture
def make_tracker() -> TrackerFactory:
    """A Tracker for the latest user message (see `tracker_state` for the arguments)."""

    def build(*args: Any, **kwargs: Any) -> Tracker:
        return Tracker.from_dict(tracker_state(*args, **kwargs))  # type: ignore[arg-type]

    return build


ActionServer = Callable[..., Any]


@pytest.fixture
def action_server(domain: dict[str, Any]) -> ActionServer:
    """Run an action the way `python -m rasa_sdk` does: the executor parses the tracker JSON,
    runs the action and serialises its events and messages (`{"events", "responses"}`)."""
    executor = ActionExecutor()
    for action in (ActionRespond, ActionKeepFacts, ActionRequestHuman):
        executor.register_action(action)

    async def call(action_name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        tracker = tracker_state(*args, **kwargs)
        result = await executor.run({"next_action": action_name, "sender_id":
                                     tracker["sender_id"], "tracker": tracker,
                                     "domain": domain, "version": "3.6.2"})
        assert result is not None
        return result

    return call


def entries(dispatcher: CollectingDispatcher) -> list[list[str]]:
    """The KB entry ids behind each message sent."""
    return [m.get("kb_entries", []) for m in dispatcher.messages]


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("text") or "" for m in dispatcher.messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots an action set (`{"event": "slot", ...}` events)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
