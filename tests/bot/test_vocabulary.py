"""The KB vocabulary loader: clear errors, and the exported file works with both components."""

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from bot.nlu.prep_entity_extractor import PrepEntityExtractor
from bot.nlu.vocabulary import (
    DEFAULT_VOCABULARY_PATH,
    VocabularyError,
    VocabularyNotFoundError,
    load_vocabulary,
)
from bot.safety.rules import RuleMatcher

REPOSITORY = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "vocabulary.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_fixture_loads(vocabulary_path: Path) -> None:
    vocabulary = load_vocabulary(vocabulary_path)
    apixaban = vocabulary.medications[0]
    assert apixaban.generic == "apixaban"
    assert apixaban.surface_forms == ("apixaban", "Eliquis", "elliquis", "apixiban")
    assert [site.site for site in vocabulary.sites] == ["lumbar", "cervical"]
    assert len(vocabulary.red_flags) == 3


def test_missing_file_says_run_make_kb_export(tmp_path: Path) -> None:
    with pytest.raises(VocabularyNotFoundError, match=r"Run `make kb-export`"):
        load_vocabulary(tmp_path / "kb_vocabulary.json")
    # also an ordinary FileNotFoundError for callers that only know that one
    with pytest.raises(FileNotFoundError):
        load_vocabulary(tmp_path / "kb_vocabulary.json")


@pytest.mark.parametrize(
    "data, message",
    [
        ("{not json", "not readable JSON"),
        ([], "top level must be a JSON object"),
        ({"medications": {}}, "'medications' must be a list"),
        ({"medications": [{"names": ["x"]}]}, "'generic' must be a non-empty string"),
        ({"medications": [{"generic": "x", "names": "x"}]}, "'names' must be a list of strings"),
        ({"red_flags": [{"id": "r", "level": "urgent", "patterns": {"en": ["(unclosed"]}}]},
         "bad regular expression"),
        ({"sites": [{"site": "lumbar", "patterns": ["[l"]}]}, "bad regular expression"),
    ],
)
def test_malformed_files_fail_loudly(tmp_path: Path, data: Any, message: str) -> None:
    with pytest.raises(VocabularyError, match=message):
        load_vocabulary(write(tmp_path, data))


def test_empty_sections_are_allowed(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(write(tmp_path, {"kb_fingerprint": "abc"}))
    assert (vocabulary.medications, vocabulary.sites, vocabulary.red_flags) == ((), (), ())


def test_exported_vocabulary_works_with_the_extractor_and_the_triage() -> None:
    """The file `make generate` writes (committed, checked by `make kb-up-to-date`): loads,
    compiles, and finds the obvious cases. A missing file is a failure, never a skip."""
    from rasa.shared.nlu.constants import ENTITIES
    from rasa.shared.nlu.training_data.message import Message

    vocabulary = load_vocabulary(REPOSITORY / DEFAULT_VOCABULARY_PATH)
    config: Dict[str, Any] = {}
    extractor = PrepEntityExtractor(config, vocabulary)
    rules = RuleMatcher(vocabulary)

    text = "I take Eliquis for my lower back and I can't feel my legs"
    message = Message.build(text=text)
    extractor.process([message])

    values = {(e["entity"], e["value"]) for e in message.get(ENTITIES)}
    assert {("medication", "apixaban"), ("procedure_site", "lumbar")} <= values
    top = rules.match(text).top
    assert top is not None and top.level == "emergency"
