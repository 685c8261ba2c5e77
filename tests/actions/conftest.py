"""Fixtures for action tests: a KB built from data/kb into a temporary SQLite database, trackers
built from keyword arguments, and the domain read as plain YAML (no `rasa` import)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine

from actions.kb.builder import build_database
from actions.kb.loader import load_kb

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shipped KB in a temporary SQLite file."""
    content, problems = load_kb(REPO / "data" / "kb")
    assert content is not None, problems
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.sqlite3'}"
    build_database(content, create_engine(url), "data/kb")
    return url


@pytest.fixture(autouse=True)
def _kb_env(monkeypatch: pytest.MonkeyPatch, kb_url: str) -> Iterator[None]:
    monkeypatch.setenv("KB_DATABASE_URL", kb_url)
    monkeypatch.setenv("KB_QUERY_TIMEOUT_S", "5")
    yield


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((REPO / "domain.yml").read_text("utf-8"))


TrackerFactory = Callable[..., Tracker]


@pytest.fixture
def make_tracker() -> TrackerFactory:
    """Tracker for the latest user message: text, intent, medication/site entities, slots."""

    def build(
        text: str = "",
        intent: str = "",
        medications: tuple[str, ...] = (),
        slots: dict[str, Any] | None = None,
        events: list[dict[str, Any]] | None = None,
        ranking: list[tuple[str, float]] | None = None,
        sender_id: str = "web:test-conversation",
    ) -> Tracker:
        entities = [{"entity": "medication", "value": m, "start": 0, "end": 0}
                    for m in medications]
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities,
            "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
        }
        return Tracker(
            sender_id=sender_id,
            slots=dict(slots or {}),
            latest_message=latest,
            events=list(events or []),
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return build


def entries(dispatcher: CollectingDispatcher) -> list[list[str]]:
    """The KB entry ids behind each message sent."""
    return [m.get("kb_entries", []) for m in dispatcher.messages]


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("text") or "" for m in dispatcher.messages]
