"""PrepEntityExtractor: medications (exact, misspelt, fuzzy) and procedure sites."""

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.prep_entity_extractor import PrepEntityExtractor
from bot.nlu.vocabulary import VocabularyNotFoundError


def run(extractor: PrepEntityExtractor, text: str) -> List[Dict[str, Any]]:
    message = Message.build(text=text)
    extractor.process([message])
    return list(message.get(ENTITIES, []))


def found(
    extractor: PrepEntityExtractor, text: str, entity: str = "medication"
) -> List[Tuple[str, str]]:
    """(value, matched text) for each entity of one type, in order."""
    entities = [e for e in run(extractor, text) if e["entity"] == entity]
    return [(e["value"], text[e["start"] : e["end"]]) for e in entities]


# ---------------------------------------------------------------- medications
@pytest.mark.parametrize(
    "text, expected",
    [
        ("I take Eliquis", [("apixaban", "Eliquis")]),
        ("I'm on apixaban", [("apixaban", "apixaban")]),
        ("my doctor gave me elliquis", [("apixaban", "elliquis")]),
        ("Xarelto, every morning", [("rivaroxaban", "Xarelto")]),
        ("I take coumadin", [("warfarin", "coumadin")]),
        ("baby aspirin every day", [("aspirin", "baby aspirin")]),
        ("an asprin a day", [("aspirin", "asprin")]),
        ("Fish oil capsules", [("fish oil", "Fish oil")]),
        ("apixaban 5mg twice a day", [("apixaban", "apixaban")]),
        ("Eliquis 2.5 mg", [("apixaban", "Eliquis")]),
    ],
)
def test_exact_names_brands_and_listed_misspellings(
    extractor: PrepEntityExtractor, text: str, expected: List[Tuple[str, str]]
) -> None:
    assert found(extractor, text) == expected


@pytest.mark.parametrize("name", ["Eliquis", "ELIQUIS", "eliquis", "eLiQuIs", "APIXABAN"])
def test_case_insensitive(extractor: PrepEntityExtractor, name: str) -> None:
    assert found(extractor, f"should I stop {name}?") == [("apixaban", name)]


def test_entity_has_the_rasa_fields(extractor: PrepEntityExtractor) -> None:
    [entity] = run(extractor, "I take Xarelto.")
    assert entity == {
        "entity": "medication",
        "start": 7,
        "end": 14,
        "value": "rivaroxaban",
        "confidence": 1.0,
        "extractor": "PrepEntityExtractor",
    }


def test_multiple_drugs_each_once_in_order(extractor: PrepEntityExtractor) -> None:
    text = "I take Xarelto, baby aspirin, fish oil and Eliquis (apixaban), and xarelto again"
    assert [value for value, _ in found(extractor, text)] == [
        "rivaroxaban",
        "aspirin",
        "fish oil",
        "apixaban",
    ]


@pytest.mark.parametrize(
    "text, generic",
    [
        ("I was taking xeralto", "rivaroxaban"),
        ("and plavicks too", "clopidogrel"),
        ("what about coumidin", "warfarin"),
        ("I take rivaroxiban", "rivaroxaban"),
        ("elequis twice a day", "apixaban"),
        ("warfarine", "warfarin"),
    ],
)
def test_fuzzy_misspellings(extractor: PrepEntityExtractor, text: str, generic: str) -> None:
    entities = [e for e in run(extractor, text) if e["entity"] == "medication"]
    assert [e["value"] for e in entities] == [generic]
    # fuzzy matches report their similarity, exact ones 1.0
    assert entities[0]["confidence"] >= 0.85


def test_fuzzy_confidence_is_below_exact(extractor: PrepEntityExtractor) -> None:
    [entity] = run(extractor, "xeralto")
    assert 0.85 <= entity["confidence"] < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "I am aspiring to get better",
        "I'm coming tomorrow",
        "the warfare between my nerves",
        "is this efficient",
        "please tell me more",
        "the wound looks cleaner",
        "my leave starts Monday",
        "I feel alive",
        "what is the motion like",
        "the tornado warning",
    ],
)
def test_common_words_are_not_fuzzy_matched(extractor: PrepEntityExtractor, text: str) -> None:
    assert found(extractor, text) == []


def test_fuzzy_can_be_switched_off(make_extractor: Callable[..., PrepEntityExtractor]) -> None:
    extractor = make_extractor({"fuzzy_matching": False})
    assert found(extractor, "xeralto and Eliquis") == [("apixaban", "Eliquis")]


def test_fuzzy_exclude_adds_words(make_extractor: Callable[..., PrepEntityExtractor]) -> None:
    extractor = make_extractor({"fuzzy_exclude": ["Xeralto"]})
    assert found(extractor, "xeralto") == []


def test_does_not_overwrite_existing_entities(extractor: PrepEntityExtractor) -> None:
    earlier = {
        "entity": "time",
        "start": 0,
        "end": 8,
        "value": "2026-12-01T00:00:00",
        "extractor": "DucklingEntityExtractor",
    }
    diet = {"entity": "medication", "start": 15, "end": 22, "value": "Eliquis"}
    message = Message.build(text="tomorrow I stop Eliquis, lower back")
    message.set(ENTITIES, [earlier, diet], add_to_output=True)

    extractor.process([message])

    entities = message.get(ENTITIES)
    assert entities[:2] == [earlier, diet]
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities[2:]] == [
        ("medication", "apixaban", "PrepEntityExtractor"),
        ("procedure_site", "lumbar", "PrepEntityExtractor"),
    ]


def test_messages_without_text_are_left_alone(extractor: PrepEntityExtractor) -> None:
    empty = Message.build(text="")
    no_text = Message(data={})
    extractor.process([empty, no_text])
    assert empty.get(ENTITIES, []) == []
    assert no_text.get(TEXT) is None
    assert no_text.get(ENTITIES) is None


# ---------------------------------------------------------------- sites
@pytest.mark.parametrize(
    "text, site, mention",
    [
        ("it's for my lower back", "lumbar", "lower back"),
        ("the pain is in my neck", "cervical", "neck"),
        ("they will do L4-L5", "lumbar", "L4-L5"),
        ("levels L5/S1", "lumbar", "L5/S1"),
        ("l4 l5 on the right", "lumbar", "l4"),
        ("at C3", "cervical", "C3"),
        ("C3-C4 facet joints", "cervical", "C3-C4"),
        ("cervical rhizotomy", "cervical", "cervical"),
        ("Lumbar facets", "lumbar", "Lumbar"),
        ("my back hurts", "lumbar", "back"),
        ("what does she stop before her back rf", "lumbar", "back"),  # a carer: her back
        ("his back one is on monday", "lumbar", "back"),
    ],
)
def test_sites(extractor: PrepEntityExtractor, text: str, site: str, mention: str) -> None:
    assert found(extractor, text, "procedure_site") == [(site, mention)]


@pytest.mark.parametrize(
    "text", ["please call me back", "I'm coming back tomorrow", "back home by noon", "hello",
             "can you ring her back", "they will drive him back",
             "My flatmate could walk back with me, would that do?", "heading back after lunch",
             "will the nerves grow back?"]
)
def test_back_as_an_adverb_is_not_a_site(extractor: PrepEntityExtractor, text: str) -> None:
    assert found(extractor, text, "procedure_site") == []


def test_back_is_lumbar_only_if_it_is_a_kb_term(
    tmp_path: Path,
    vocabulary_path: Path,
    make_extractor: Callable[..., PrepEntityExtractor],
) -> None:
    data = json.loads(vocabulary_path.read_text())
    for site in data["sites"]:
        site["terms"] = [term for term in site["terms"] if term != "back"]
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps(data))
    extractor = make_extractor({"vocabulary_path": str(path)})

    assert found(extractor, "my back hurts", "procedure_site") == []
    assert found(extractor, "my lower back hurts", "procedure_site") == [("lumbar", "lower back")]


def test_at_most_one_entity_per_site(extractor: PrepEntityExtractor) -> None:
    text = "L4-L5 in the lower back, lumbar, and also my neck at C3-C4"
    assert found(extractor, text, "procedure_site") == [
        ("lumbar", "L4-L5"),
        ("cervical", "neck"),
    ]


def test_site_words_are_not_fuzzy_drugs(extractor: PrepEntityExtractor) -> None:
    assert found(extractor, "lumbar cervical") == []


# ---------------------------------------------------------------- construction
def test_missing_vocabulary_gives_a_clear_error(
    tmp_path: Path, make_extractor: Callable[..., PrepEntityExtractor]
) -> None:
    with pytest.raises(VocabularyNotFoundError, match="make kb-export"):
        make_extractor({"vocabulary_path": str(tmp_path / "missing.json")})


def test_default_config_reads_the_shipped_vocabulary(
    monkeypatch: pytest.MonkeyPatch, model_storage: Any, execution_context: Any
) -> None:
    """With no vocabulary_path, run from the repository root (as Rasa is), the component uses
    the KB-generated vocabulary: dabigatran is in the shipped KB, not in the test fixture."""
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    extractor = PrepEntityExtractor.create(
        PrepEntityExtractor.get_default_config(), model_storage,
        Resource("prep_entity_extractor"), execution_context,
    )
    assert isinstance(extractor, PrepEntityExtractor)
    assert found(extractor, "I take Pradaxa") == [("dabigatran", "Pradaxa")]


def test_common_words_near_other_brand_names(
    tmp_path: Path, vocabulary_path: Path, make_extractor: Callable[..., PrepEntityExtractor]
) -> None:
    """English words that score >= 0.85 against real brands (Aleve, Effient, Clexane...)."""
    data = json.loads(vocabulary_path.read_text())
    data["medications"] += [
        {"generic": generic, "drug_class": "x", "names": [brand], "misspellings": misspellings}
        for generic, brand, misspellings in [
            ("naproxen", "Aleve", []),
            ("prasugrel", "Effient", []),
            ("enoxaparin", "Clexane", []),
            ("ketorolac", "Toradol", []),
            ("cilostazol", "Pletal", []),
            ("pregabalin", "Lyrica", []),
            ("dalteparin", "Fragmin", []),
            ("acenocoumarol", "Sintrom", []),
            ("ticagrelor", "Brilinta", ["brilique"]),
            ("ginseng", "ginseng", ["ginsing"]),
            ("vitamin e", "vitamin e", ["vitamine"]),
        ]
    ]
    path = tmp_path / "vocabulary.json"
    path.write_text(json.dumps(data))
    extractor = make_extractor({"vocabulary_path": str(path)})

    text = (
        "efficient cleaned cleaner tornado framing petal lyric alive leave centrum brilliant "
        "gaining vitamin"
    )
    assert found(extractor, text) == []
    assert found(extractor, "effiant and clexan") == [
        ("prasugrel", "effiant"),
        ("enoxaparin", "clexan"),
    ]


def test_vague_back_never_outvotes_a_specific_site() -> None:
    """"Do I lie on my back for the neck one" is a cervical patient, not a lumbar one."""
    from pathlib import Path

    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.prep_entity_extractor import PrepEntityExtractor
    from bot.nlu.vocabulary import load_vocabulary

    path = str(Path(__file__).parent / "fixtures" / "kb_vocabulary.json")
    extractor = PrepEntityExtractor({**PrepEntityExtractor.get_default_config(),
                                     "vocabulary_path": path}, load_vocabulary(path))
    message = Message.build(text="do i lie on my back for the neck one")
    extractor.process([message])
    sites = [e["value"] for e in message.get("entities", []) if e["entity"] == "procedure_site"]
    assert sites == ["cervical"]
    message = Message.build(text="my back is the one being done")
    extractor.process([message])
    sites = [e["value"] for e in message.get("entities", []) if e["entity"] == "procedure_site"]
    assert sites == ["lumbar"]


# ------------------------------------------------------------------ Spanish
def run_in(extractor: PrepEntityExtractor, text: str, language: str) -> List[Tuple[str, str]]:
    message = Message.build(text=text)
    message.set(ENTITIES, [{"entity": "language", "value": language, "start": 0,
                            "end": len(text), "extractor": "LanguageTagger"}])
    extractor.process([message])
    return [(e["entity"], e["value"]) for e in message.get(ENTITIES)
            if e["entity"] in ("medication", "procedure_site")]


@pytest.mark.parametrize(
    "text,generics",
    [
        ("tomo Sintrom y Adiro", ["acenocoumarol", "aspirin"]),
        ("¿el sintron lo dejo?", ["acenocoumarol"]),
        ("mi madre toma aspirina", ["aspirin"]),
        ("me pongo OZEMPIK los lunes", ["semaglutide"]),
    ],
)
def test_spanish_brands_and_misspellings(
    extractor: PrepEntityExtractor, text: str, generics: List[str]
) -> None:
    assert [v for e, v in run_in(extractor, text, "es") if e == "medication"] == generics


@pytest.mark.parametrize(
    "text",
    [
        "tengo un síntoma raro desde ayer",
        "tengo un sintoma en la pierna",
        "es un célebre especialista",
        "trabajo en el jardín",
        "paseo por la pradera",
        "lo noto claramente",
    ],
)
def test_spanish_common_words_are_not_drugs(extractor: PrepEntityExtractor, text: str) -> None:
    assert [v for e, v in run_in(extractor, text, "es") if e == "medication"] == []


def test_spanish_site_terms(extractor: PrepEntityExtractor) -> None:
    assert run_in(extractor, "es en el cuello", "es") == [("procedure_site", "cervical")]
    assert run_in(extractor, "me lo hacen en la zona lumbar", "es") == [
        ("procedure_site", "lumbar")]
    # "espalda" is vague: a specific site in the same message wins
    assert run_in(extractor, "tumbada de espalda para lo del cuello", "es") == [
        ("procedure_site", "cervical")]


def test_site_terms_follow_the_language_entity(extractor: PrepEntityExtractor) -> None:
    assert run_in(extractor, "it's my neck", "en") == [("procedure_site", "cervical")]
    assert run_in(extractor, "it's my neck", "es") == []
    # no language known: every language's terms
    assert found(extractor, "es en el cuello", "procedure_site") == [("cervical", "cuello")]
