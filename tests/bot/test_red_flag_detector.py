"""RedFlagDetector: affirmed red flags force report_emergency; negated/hypothetical ones don't."""

import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.red_flag_detector import RedFlagDetector
from bot.nlu.vocabulary import VocabularyNotFoundError, load_vocabulary

EMERGENCY = "report_emergency"


def diet_message(
    text: str, intent: Optional[str] = None, ranking: Optional[Dict[str, float]] = None
) -> Message:
    """A message as DIETClassifier leaves it (intent + ranking), or a bare one."""
    message = Message.build(text=text)
    if intent is not None:
        ranking = ranking or {intent: 0.9}
        message.set(INTENT, {"name": intent, "confidence": ranking[intent]}, add_to_output=True)
        message.set(
            INTENT_RANKING_KEY,
            [{"name": name, "confidence": conf} for name, conf in ranking.items()],
            add_to_output=True,
        )
    return message


def red_flags(message: Message) -> List[str]:
    return [e["value"] for e in message.get(ENTITIES, []) if e["entity"] == "red_flag"]


def fires(detector: RedFlagDetector, text: str) -> bool:
    message = diet_message(text, "ask_recovery", {"ask_recovery": 0.8, "greet": 0.2})
    detector.process([message])
    return bool(message.get(INTENT)["name"] == EMERGENCY)


POSITIVE = [
    ("I can't feel my legs", "red_flag.weakness"),
    ("cant feel my legs", "red_flag.weakness"),
    ("I CAN'T FEEL MY LEGS", "red_flag.weakness"),
    ("I can\u2019t feel my feet since this morning", "red_flag.weakness"),
    ("i cannot feel my foot", "red_flag.weakness"),
    ("my legs are numb", "red_flag.weakness"),
    ("HELP MY LEGS ARE NUMB", "red_flag.weakness"),
    ("My leg feels really weak", "red_flag.weakness"),
    ("my arms went dead", "red_flag.weakness"),
    ("I think I have foot drop", "red_flag.weakness"),
    ("can't lift my leg", "red_flag.weakness"),
    ("I had the procedure yesterday and now I cant move my legs", "red_flag.weakness"),
    ("is it normal that my legs are numb since the procedure?", "red_flag.weakness"),
    ("I don't know why but I can't feel my legs", "red_flag.weakness"),
    ("I don't know why I can't feel my legs", "red_flag.weakness"),
    ("no idea what's going on, my legs are so weak", "red_flag.weakness"),
    ("I have a fever", "red_flag.fever"),
    ("temperature of 39 and shivering", "red_flag.fever"),
    ("not sure but I think I have a fever", "red_flag.fever"),
    ("the needle site is bleeding", "red_flag.bleeding"),
    ("it will not stop bleeding", "red_flag.bleeding"),
    ("blood is soaking through the dressing", "red_flag.bleeding"),
    ("No fever, but my legs are numb", "red_flag.weakness"),
    ("my legs are numb, what should I do?", "red_flag.weakness"),
    ("no my legs are numb", "red_flag.weakness"),
    ("no I can't feel my legs", "red_flag.weakness"),
    ("I'm not kidding I can't feel my legs", "red_flag.weakness"),
    ("I don't have a fever and I can't feel my legs", "red_flag.weakness"),
]

NEGATED = [
    "no numbness at all",
    "I don't have a fever",
    "i dont have a fever",
    "I do not have any fever",
    "I have never had a fever",
    "not bleeding",
    "the wound isn't bleeding",
    "I haven't got a fever",
    "no longer bleeding",
    "denies fever",
    "without numbness",
    "No fever, no bleeding, no numbness",
]

HYPOTHETICAL = [
    "what if I can't feel my legs after",
    "if I get a fever what do i do",
    "will my legs be numb",
    "will my legs feel numb afterwards?",
    "What if, after the procedure, I can't feel my legs?",
    "in case there's bleeding, who do I call?",
    "could I get a fever from this?",
    "might my legs feel weak after?",
    "what happens if my legs feel numb",
    "is it possible to get a fever after rhizotomy?",
    "should i worry if my legs feel weak tomorrow",
    "what should i do if the wound is bleeding",
    "will I have numbness",
    "would I notice bleeding",
]


@pytest.mark.parametrize("text, red_flag", POSITIVE)
def test_affirmed_red_flags_fire(detector: RedFlagDetector, text: str, red_flag: str) -> None:
    message = diet_message(text, "ask_recovery", {"ask_recovery": 0.8, "greet": 0.2})
    detector.process([message])

    assert message.get(INTENT) == {"name": EMERGENCY, "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY)[0] == {"name": EMERGENCY, "confidence": 1.0}
    assert red_flag in red_flags(message)


def test_at_least_fifteen_positive_phrasings() -> None:
    assert len(POSITIVE) >= 15


@pytest.mark.parametrize("text", NEGATED)
def test_negated_mentions_do_not_fire(detector: RedFlagDetector, text: str) -> None:
    assert not fires(detector, text)


@pytest.mark.parametrize("text", HYPOTHETICAL)
def test_hypothetical_mentions_do_not_fire(detector: RedFlagDetector, text: str) -> None:
    assert not fires(detector, text)


@pytest.mark.parametrize("text", NEGATED + HYPOTHETICAL)
def test_negative_cases_do_contain_a_pattern_match(text: str, vocabulary_path: Path) -> None:
    """Guards the two tests above: each phrase would fire if the cue were ignored."""
    patterns = [p for flag in load_vocabulary(vocabulary_path).red_flags for p in flag.patterns]
    normalised = text.lower().replace("\u2019", "'")
    assert any(re.search(pattern, normalised) for pattern in patterns)


def test_entity_span_points_into_the_original_text(detector: RedFlagDetector) -> None:
    for text, mention in [
        ("Help, I cant feel my legs!", "cant feel my legs"),
        ("Help, I can\u2019t feel my legs!", "can\u2019t feel my legs"),
        ("I CANNOT FEEL MY ARMS", "CANNOT FEEL MY ARMS"),
    ]:
        message = diet_message(text)
        detector.process([message])
        [entity] = message.get(ENTITIES)
        assert text[entity["start"] : entity["end"]] == mention
        assert entity["extractor"] == "RedFlagDetector"
        assert entity["confidence"] == 1.0


def test_one_entity_per_red_flag_and_all_red_flags(detector: RedFlagDetector) -> None:
    message = diet_message("I have a fever, my legs are numb and the numbness spreads, bleeding")
    detector.process([message])
    assert red_flags(message) == ["red_flag.fever", "red_flag.weakness", "red_flag.bleeding"]


def test_works_without_a_previous_classifier(detector: RedFlagDetector) -> None:
    message = diet_message("my legs are numb")
    detector.process([message])
    assert message.get(INTENT_RANKING_KEY) == [{"name": EMERGENCY, "confidence": 1.0}]


def test_other_intents_are_kept_after_it_scaled_down(detector: RedFlagDetector) -> None:
    message = diet_message(
        "my legs are numb",
        "ask_recovery",
        {"ask_recovery": 0.9, EMERGENCY: 0.06, "greet": 0.04},
    )
    detector.process([message])
    ranking = message.get(INTENT_RANKING_KEY)
    assert [r["name"] for r in ranking] == [EMERGENCY, "ask_recovery", "greet"]
    assert [r["confidence"] for r in ranking] == pytest.approx([1.0, 0.45, 0.02])


def test_fallback_classifier_keeps_the_emergency(detector: RedFlagDetector) -> None:
    """DIET very sure of another intent: without demotion the top-2 gap would be 0.02."""
    message = diet_message("cant feel my legs", "ask_recovery", {"ask_recovery": 0.98})
    detector.process([message])
    fallback = FallbackClassifier(
        {**FallbackClassifier.get_default_config(), "threshold": 0.7, "ambiguity_threshold": 0.1}
    )
    fallback.process([message])
    assert message.get(INTENT)["name"] == EMERGENCY


@pytest.mark.parametrize("text", ["no fever at all", "thanks, see you tomorrow"])
def test_diet_emergency_is_never_removed_or_lowered(detector: RedFlagDetector, text: str) -> None:
    ranking = {EMERGENCY: 0.72, "ask_recovery": 0.28}
    message = diet_message(text, EMERGENCY, ranking)
    detector.process([message])
    assert message.get(INTENT) == {"name": EMERGENCY, "confidence": 0.72}
    assert message.get(INTENT_RANKING_KEY)[0] == {"name": EMERGENCY, "confidence": 0.72}


def test_diet_emergency_is_confirmed_not_duplicated(detector: RedFlagDetector) -> None:
    message = diet_message("my legs are numb", EMERGENCY, {EMERGENCY: 0.6, "greet": 0.4})
    detector.process([message])
    ranking = message.get(INTENT_RANKING_KEY)
    assert ranking[0] == {"name": EMERGENCY, "confidence": 1.0}
    assert [r["name"] for r in ranking].count(EMERGENCY) == 1


def test_existing_entities_are_kept(detector: RedFlagDetector) -> None:
    earlier: Dict[str, Any] = {
        "entity": "medication",
        "start": 0,
        "end": 7,
        "value": "apixaban",
        "extractor": "PrepEntityExtractor",
    }
    message = diet_message("Eliquis and now my legs are numb")
    message.set(ENTITIES, [earlier], add_to_output=True)
    detector.process([message])
    assert message.get(ENTITIES)[0] == earlier
    assert red_flags(message) == ["red_flag.weakness"]


def test_running_twice_adds_no_duplicate(detector: RedFlagDetector) -> None:
    message = diet_message("my legs are numb")
    detector.process([message])
    detector.process([message])
    assert red_flags(message) == ["red_flag.weakness"]


def test_config_names_the_intent_and_entity(make_detector: Callable[..., RedFlagDetector]) -> None:
    detector = make_detector({"intents_by_level": {"emergency": "emergency"}, "entity": "symptom"})
    message = diet_message("I have a fever")
    detector.process([message])
    assert message.get(INTENT)["name"] == "emergency"
    assert [e["entity"] for e in message.get(ENTITIES)] == ["symptom"]


def test_missing_vocabulary_gives_a_clear_error(
    tmp_path: Path, make_detector: Callable[..., RedFlagDetector]
) -> None:
    with pytest.raises(VocabularyNotFoundError, match="make kb-export"):
        make_detector({"vocabulary_path": str(tmp_path / "nope.json")})



def test_non_emergency_flag_defers_to_a_confident_illness_report(tmp_path: Path) -> None:
    """Pre-procedure illness keeps its intent when only a call-the-clinic flag matched;
    an emergency-level flag always wins."""
    import json

    data = json.loads((Path(__file__).parent / "fixtures" / "kb_vocabulary.json").read_text())
    data["red_flags"].append({"id": "red_flag.test_fever", "level": "urgent",
                              "patterns": {"en": ["\\bi feel shivery\\b"]}})
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps(data))
    detector = RedFlagDetector({"vocabulary_path": str(path)}, load_vocabulary(str(path)))

    def run(text: str, intent: str, confidence: float) -> str:
        message = Message.build(text=text)
        message.set(INTENT, {"name": intent, "confidence": confidence})
        message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": confidence}])
        detector.process([message])
        return str(message.get(INTENT)["name"])

    assert run("i feel shivery and my procedure is tomorrow", "report_illness", 0.9) \
        == "report_illness"
    assert run("i feel shivery and my procedure is tomorrow", "report_illness", 0.3) \
        == "report_urgent"
    assert run("i feel shivery since the procedure", "ask_recovery", 0.9) == "report_urgent"
    assert run("i feel shivery and i cant feel my legs", "report_illness", 0.9) \
        == "report_emergency"


def test_each_level_has_its_intent_and_the_most_severe_wins(tmp_path: Path) -> None:
    import json

    data = json.loads((Path(__file__).parent / "fixtures" / "kb_vocabulary.json").read_text())
    data["red_flags"] += [
        {"id": "red_flag.test_crisis", "level": "crisis", "patterns": {"en": ["\\bend it all\\b"]}},
        {"id": "red_flag.test_urgent", "level": "urgent",
         "patterns": {"es": ["\\bme sale pus\\b"]}},
    ]
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps(data))
    detector = RedFlagDetector({}, load_vocabulary(str(path)))

    def intent_of(text: str) -> str:
        message = Message.build(text=text)
        detector.process([message])
        return str((message.get(INTENT) or {}).get("name"))

    assert intent_of("i want to end it all") == "report_crisis"
    assert intent_of("me sale pus de la herida") == "report_urgent"
    assert intent_of("i want to end it all and my legs are numb") == "report_emergency"
    assert intent_of("hola") == "None"
