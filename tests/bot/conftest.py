"""Fixtures for the custom NLU components: they are built directly, no training needed."""

import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.engine.storage.storage import ModelStorage  # noqa: E402

from bot.nlu.prep_entity_extractor import PrepEntityExtractor  # noqa: E402

FIXTURE_VOCABULARY = Path(__file__).parent / "fixtures" / "kb_vocabulary.json"
# What the trained model uses: generated from data/kb by `make kb-export` (kept up to date by
# `make kb-up-to-date`). The red-flag tests run on it, not on a fixture.
SHIPPED_VOCABULARY = (
    Path(__file__).resolve().parents[2] / "bot" / "generated" / "kb_vocabulary.json"
)


def pytest_configure(config: pytest.Config) -> None:
    """Registers `slow` (training a real model); slow tests still run by default."""
    config.addinivalue_line("markers", "slow: trains a Rasa model (tens of seconds)")


@pytest.fixture
def vocabulary_path() -> Path:
    return FIXTURE_VOCABULARY


@pytest.fixture
def shipped_vocabulary_path() -> Path:
    return SHIPPED_VOCABULARY


@pytest.fixture
def model_storage(tmp_path: Path) -> ModelStorage:
    return LocalModelStorage(tmp_path / "model_storage")


@pytest.fixture
def execution_context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test-model")


@pytest.fixture
def make_extractor(
    model_storage: ModelStorage, execution_context: ExecutionContext
) -> Callable[..., PrepEntityExtractor]:
    """Builds the extractor the way the graph does: defaults merged with the given config."""

    def make(config: Optional[Dict[str, Any]] = None) -> PrepEntityExtractor:
        merged = {
            **PrepEntityExtractor.get_default_config(),
            "vocabulary_path": str(FIXTURE_VOCABULARY),
            **(config or {}),
        }
        component = PrepEntityExtractor.create(
            merged, model_storage, Resource("prep_entity_extractor"), execution_context
        )
        assert isinstance(component, PrepEntityExtractor)
        return component

    return make


@pytest.fixture
def extractor(make_extractor: Callable[..., PrepEntityExtractor]) -> PrepEntityExtractor:
    return make_extractor()
