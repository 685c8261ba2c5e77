"""LanguageTagger: explicit switches, message metadata, confident detection only."""

from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language import LanguageTagger


@pytest.fixture
def tagger() -> LanguageTagger:
    return LanguageTagger({"vocabulary_path": ""})


def language(tagger: LanguageTagger, text: str, metadata: Optional[Dict[str, Any]] = None
             ) -> Optional[str]:
    message = Message.build(text=text)
    if metadata is not None:
        message.set("metadata", metadata)
    tagger.process([message])
    found: List[Dict[str, Any]] = [
        e for e in message.get("entities") or [] if e["entity"] == "language"]
    assert len(found) <= 1
    return found[0]["value"] if found else None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("English please", "en"),
        ("can you reply in english", "en"),
        ("¿me puede hablar en inglés?", "en"),
        ("en español por favor", "es"),
        ("castellano", "es"),
        ("¿habla español?", "es"),
        ("do you speak Spanish", "es"),
        ("no hablo inglés", "es"),
        ("sorry I don't speak spanish", "en"),
    ],
)
def test_explicit_switches(tagger: LanguageTagger, text: str, expected: str) -> None:
    assert language(tagger, text) == expected


def test_switch_beats_metadata_and_has_its_offsets(tagger: LanguageTagger) -> None:
    assert language(tagger, "in English please", {"language": "es"}) == "en"
    message = Message.build(text="hola, en español por favor")
    tagger.process([message])
    entity = message.get("entities")[0]
    assert message.get("text")[entity["start"]:entity["end"]] == "en español"


def test_metadata_is_used_when_present(tagger: LanguageTagger) -> None:
    assert language(tagger, "ok", {"language": "es"}) == "es"
    assert language(tagger, "vale", {"language": "en-US"}) == "en"
    # an unknown language in metadata is ignored; "ok" alone is not detectable
    assert language(tagger, "ok", {"language": "fr"}) is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("When do I have to stop eating before the procedure?", "en"),
        ("¿Cuándo tengo que dejar de comer antes de la prueba?", "es"),
        ("cuando dejo el sintrom antes de la rizolisis", "es"),
        ("can my husband drive me home afterwards", "en"),
    ],
)
def test_sentences_are_detected(tagger: LanguageTagger, text: str, expected: str) -> None:
    assert language(tagger, text) == expected


@pytest.mark.parametrize("text", ["", "ok", "?!", "12:30"])
def test_undetectable_texts_get_no_entity(tagger: LanguageTagger, text: str) -> None:
    assert language(tagger, text) is None


def test_a_new_entity_replaces_an_earlier_language_entity(tagger: LanguageTagger) -> None:
    message = Message.build(text="English please")
    message.set("entities", [{"entity": "language", "value": "es", "start": 0, "end": 1}])
    tagger.process([message])
    assert [e["value"] for e in message.get("entities")] == ["en"]


def test_detection_can_be_switched_off() -> None:
    tagger = LanguageTagger({"detect": False, "vocabulary_path": ""})
    assert language(tagger, "When do I have to stop eating before the procedure?") is None
    assert language(tagger, "English please") == "en"


@pytest.mark.parametrize("text", [
    "perfecte, moltes gracies",
    "la meva mare te febre des d'ahir",
    "bon dia, a quina hora he d'arribar demà?",
])
def test_catalan_is_read_as_spanish(tagger: LanguageTagger, text: str) -> None:
    """The assistant has no Catalan texts: a Catalan message keeps a Barcelona patient's
    conversation in Spanish instead of being called English (bot.safety.language.READ_AS)."""
    assert language(tagger, text) == "es"


def test_the_gate_reads_catalan_as_spanish_too() -> None:
    from bot.safety.language import LanguageDetector

    detector = LanguageDetector(("en", "es"))
    assert detector.detect("perfecte, moltes gracies", "en").language == "es"
    assert detector.detect("thanks a lot, see you then", "es").language == "en"
    for english in ("parking", "Plavix restart?", "ok thanks"):
        assert detector.detect(english, "en").language == "en", english
    assert LanguageDetector(("en",)).detect("moltes gracies").language == "en"


def test_catalan_that_only_leads_english_keeps_a_spanish_conversation_spanish() -> None:
    from bot.safety.language import LanguageDetector

    detector = LanguageDetector(("en", "es"))
    text = "es al coll, les cervicals. i prenc xarelto"  # Catalan 0.64, English 0.36
    assert detector.detect(text, "es").language == "es"
    for english in ("thanks a lot, see you then", "can we speak english", "is it on my neck"):
        assert detector.detect(english, "es").language == "en", english


def test_the_gate_detector_reads_a_drug_name_alone_as_the_conversation_language(
        shipped_vocabulary_path: Any) -> None:
    """The safety gate's detector (its verdict language is the message's metadata) blanks the
    KB's drug names too: "iscover 75?" in a Spanish conversation stays Spanish."""
    from bot.safety.triage import Triage

    triage = Triage(shipped_vocabulary_path, use_classifier=False)
    assert triage.detector.detect("iscover 75?", "es").language == "es"
    assert triage.detector.detect("I stopped my xarelto yesterday", "es").language == "en"
