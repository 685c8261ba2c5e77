"""Fixtures for the safety triage tests: the SHIPPED vocabulary, one fitted classifier."""

from pathlib import Path

import pytest

from bot.nlu.vocabulary import KbVocabulary, load_vocabulary
from bot.safety.triage import Triage

REPOSITORY = Path(__file__).resolve().parents[3]
SHIPPED_VOCABULARY = REPOSITORY / "bot" / "generated" / "kb_vocabulary.json"


@pytest.fixture(scope="session")
def vocabulary() -> KbVocabulary:
    """bot/generated/kb_vocabulary.json as shipped (not a fixture vocabulary)."""
    return load_vocabulary(SHIPPED_VOCABULARY)


@pytest.fixture(scope="session")
def patterns(vocabulary: KbVocabulary) -> Triage:
    """The KB patterns alone."""
    return Triage(vocabulary, use_classifier=False)


@pytest.fixture(scope="session")
def triage(vocabulary: KbVocabulary) -> Triage:
    """Patterns + the classifier trained on the shipped data (fitted once per session)."""
    detector = Triage(vocabulary)
    detector.warm_up()
    return detector
