"""TopicClassifier on a tiny hand-made data set (trains in about a second)."""

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
import yaml
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.prep_entity_extractor import PrepEntityExtractor
from bot.nlu.topic_classifier import TopicClassifier

EXAMPLES: Dict[str, Dict[str, List[str]]] = {
    "en": {
        "ask_fasting": [
            "when do i stop eating", "can i eat before", "when do i stop drinking water",
            "is breakfast ok", "how long do i fast", "can i have coffee in the morning",
        ],
        "ask_driver": [
            "do i need a driver", "can i drive home", "can i take a taxi home",
            "who takes me home", "do i need someone to take me home", "can i get the bus",
        ],
        "ask_blood_thinners": [
            "do i stop my blood thinner", "when do i stop warfarin", "should i stop aspirin",
            "when do i restart my blood thinner", "do i keep taking my blood thinner",
        ],
        "ask_medications": [
            "do i take my usual tablets", "what about my diabetes medicine",
            "should i take my blood pressure pills", "do i keep my other medicines",
        ],
        "greet": ["hello", "hi", "good morning", "hey there"],
    },
    "es": {
        "ask_fasting": [
            "cuando dejo de comer", "puedo desayunar", "hasta que hora puedo beber agua",
            "puedo tomar cafe por la mañana", "cuantas horas de ayuno",
        ],
        "ask_driver": [
            "necesito que me lleven", "puedo volver en taxi", "puedo conducir a casa",
            "quien me lleva a casa", "puedo volver en autobus",
        ],
        "greet": ["hola", "buenos dias", "buenas tardes", "hola que tal"],
    },
}


@pytest.fixture
def model_storage(tmp_path: Path) -> ModelStorage:
    """A model storage whose folder exists (training writes into it)."""
    (tmp_path / "model_storage").mkdir()
    return LocalModelStorage(tmp_path / "model_storage")


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """data/nlu/<language>/<intent>.yml for EXAMPLES, and a registry naming the topics."""
    root = tmp_path / "nlu"
    for language, intents in EXAMPLES.items():
        (root / language).mkdir(parents=True)
        for intent, texts in intents.items():
            block = {"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
            (root / language / f"{intent}.yml").write_text(
                yaml.safe_dump({"version": "3.1", "nlu": [block]}, allow_unicode=True)
            )
    registry = {
        "registry": {
            "topics": [
                {"id": name, "intent": f"ask_{name}"}
                for name in ("fasting", "driver", "blood_thinners", "medications")
            ]
            + [{"id": "human", "intent": "request_human"}]
        }
    }
    (tmp_path / "topics.yml").write_text(yaml.safe_dump(registry))
    return root


def training_data() -> TrainingData:
    return TrainingData(
        [
            Message.build(text=text, intent=intent)
            for intents in EXAMPLES.values()
            for intent, texts in intents.items()
            for text in texts
        ]
    )


@pytest.fixture
def make_classifier(
    data_root: Path, vocabulary_path: Path, model_storage: ModelStorage,
    execution_context: ExecutionContext,
) -> Callable[..., TopicClassifier]:
    def make(config: Optional[Dict[str, Any]] = None) -> TopicClassifier:
        merged = {
            **TopicClassifier.get_default_config(),
            "training_data_root": str(data_root),
            "registry_path": str(data_root.parent / "topics.yml"),
            "vocabulary_path": str(vocabulary_path),
            "class_weight": None,
            **(config or {}),
        }
        component = TopicClassifier.create(
            merged, model_storage, Resource("topic_classifier"), execution_context
        )
        assert isinstance(component, TopicClassifier)
        component.train(training_data())
        return component

    return make


def parsed(
    classifier: TopicClassifier, text: str, extractor: Optional[PrepEntityExtractor] = None,
    language: Optional[str] = None,
) -> Message:
    message = Message.build(text=text)
    if language:
        message.set("entities", [{"entity": "language", "value": language, "start": 0,
                                  "end": len(text), "extractor": "LanguageTagger"}])
    if extractor is not None:
        extractor.process([message])
    classifier.process([message])
    return message


def topics(message: Message) -> List[Any]:
    return [(e["value"], message.get("text")[e["start"]:e["end"]])
            for e in message.get("entities") or [] if e["entity"] == "topic"]


def test_single_question_gets_its_intent_and_a_ranking(
    make_classifier: Callable[..., TopicClassifier]
) -> None:
    message = parsed(make_classifier(), "when do i stop eating")
    assert message.get("intent")["name"] == "ask_fasting"
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "ask_fasting"
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert topics(message) == []


def test_two_questions_become_topic_entities_in_order(
    make_classifier: Callable[..., TopicClassifier]
) -> None:
    message = parsed(make_classifier({"multi_min_confidence": 0.3}),
                     "can i take a taxi home and when do i stop eating?")
    assert topics(message) == [
        ("ask_driver", "can i take a taxi home"), ("ask_fasting", "when do i stop eating")]
    assert message.get("intent")["name"] == "ask_driver"


def test_each_topic_entity_carries_the_whole_messages_probability(
    make_classifier: Callable[..., TopicClassifier]
) -> None:
    """The message intent becomes the first topic at its part's confidence; `support` keeps
    what the whole message gave each topic, for the engine to tell a stated part."""
    classifier = make_classifier({"multi_min_confidence": 0.3})
    text = "can i take a taxi home and when do i stop eating?"
    message = parsed(classifier, text)
    whole = dict(classifier.rank_texts([text], "en")[0])
    supports = {e["value"]: e["support"] for e in message.get("entities")
                if e["entity"] == "topic"}
    assert supports == {name: round(whole[name], 4) for name in supports}
    assert set(supports) == {"ask_driver", "ask_fasting"}


def test_one_topic_asked_twice_is_one_question(
    make_classifier: Callable[..., TopicClassifier]
) -> None:
    message = parsed(make_classifier({"multi_min_confidence": 0.3}),
                     "when do i stop eating and is breakfast ok")
    assert topics(message) == []
    assert message.get("intent")["name"] == "ask_fasting"


def test_a_part_that_only_tells_the_booking_is_not_a_question(
    make_classifier: Callable[..., TopicClassifier], shipped_vocabulary_path: Path
) -> None:
    """"my appointment is at 3pm ..., can I take a taxi?": the booking (KB appointment_words
    and a number) is what the answer is given for, not a second question; the one question
    after it is the message's topic."""
    classifier = make_classifier({"multi_min_confidence": 0.3,
                                  "vocabulary_path": str(shipped_vocabulary_path)})
    message = parsed(classifier, "my appointment is at 3pm so no breakfast then. "
                                 "can i take a taxi home?")
    assert topics(message) == [("ask_driver", "can i take a taxi home")]
    assert message.get("intent")["name"] == "ask_driver"
    message = parsed(classifier, "my appointment is at 3pm, can i eat breakfast? "
                                 "and can i take a taxi home?")  # a booking asked about
    assert [t[0] for t in topics(message)] == ["ask_fasting", "ask_driver"]
    message = parsed(classifier, "my appointment is at 3pm so when do i stop eating, "
                                 "and can i take a taxi home")  # the booking part also asks
    assert [t[0] for t in topics(message)] == ["ask_fasting", "ask_driver"]


def test_drug_only_messages_are_routed_by_drug_class(
    make_classifier: Callable[..., TopicClassifier], extractor: PrepEntityExtractor
) -> None:
    classifier = make_classifier()
    assert parsed(classifier, "xarelto?", extractor).get("intent")["name"] == "ask_blood_thinners"
    assert parsed(classifier, "what about my plavix", extractor).get("intent")["name"] \
        == "ask_blood_thinners"
    assert parsed(classifier, "ozempic 1mg", extractor).get("intent")["name"] == "ask_medications"
    # more than a drug name: the classifier decides
    routed = parsed(classifier, "hello i take xarelto", extractor)
    assert routed.get("intent")["confidence"] < 0.95


def test_without_extractor_entities_the_drug_is_still_found(
    make_classifier: Callable[..., TopicClassifier]
) -> None:
    assert parsed(make_classifier(), "¿y el Sintrom?").get("intent")["name"] \
        == "ask_blood_thinners"


def test_low_confidence_falls_back_with_the_candidates_kept(
    make_classifier: Callable[..., TopicClassifier]
) -> None:
    message = parsed(make_classifier({"fallback_threshold": 0.99}), "purple elephants")
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 0.99}
    assert len(message.get("intent_ranking")) > 1


def test_language_entity_picks_the_model_of_that_language(
    make_classifier: Callable[..., TopicClassifier]
) -> None:
    classifier = make_classifier({"per_language": True})
    spanish = parsed(classifier, "puedo volver en taxi", language="es")
    assert spanish.get("intent")["name"] == "ask_driver"
    # the Spanish model knows no blood-thinner intent
    assert "ask_blood_thinners" not in {r["name"] for r in spanish.get("intent_ranking")}
    unknown = parsed(classifier, "hola")
    assert unknown.get("intent")["name"] == "greet"


def test_joint_model_option(make_classifier: Callable[..., TopicClassifier]) -> None:
    classifier = make_classifier({"per_language": False})
    assert parsed(classifier, "puedo volver en taxi", language="es").get("intent")["name"] \
        == "ask_driver"
    assert parsed(classifier, "when do i stop eating", language="en").get("intent")["name"] \
        == "ask_fasting"


def test_persisted_model_loads_and_predicts_the_same(
    make_classifier: Callable[..., TopicClassifier], model_storage: ModelStorage,
    execution_context: ExecutionContext,
) -> None:
    trained = make_classifier()
    loaded = TopicClassifier.load(
        trained._config, model_storage, Resource("topic_classifier"), execution_context
    )
    assert isinstance(loaded, TopicClassifier)
    for text in ("can i drive home", "hola", "do i need a driver and can i eat before?"):
        first, second = parsed(trained, text), parsed(loaded, text)
        assert first.get("intent") == second.get("intent")
        assert topics(first) == topics(second)


def test_untrained_component_falls_back(
    data_root: Path, model_storage: ModelStorage, execution_context: ExecutionContext
) -> None:
    component = TopicClassifier.load(
        {**TopicClassifier.get_default_config(), "vocabulary_path": "nope.json"},
        model_storage, Resource("missing"), execution_context,
    )
    assert isinstance(component, TopicClassifier)
    message = Message.build(text="hello")
    component.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
