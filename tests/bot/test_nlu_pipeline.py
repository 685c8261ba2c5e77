"""End to end: the real config.yml trained on the real data/nlu, loaded and parsing like the
server (slow: one training of about a minute for the whole module).

Proves the registration of the custom components, their order (language -> entities ->
classifier -> red flags) and that every quick-reply text of the KB (`question.<topic>` and
`label.*` in data/kb/texts/<language>/) is read as the intent its button stands for.
"""

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ROOT / "data" / "kb" / "texts"
REGISTRY = ROOT / "data" / "kb" / "topics.yml"

# label.* buttons that are not topics, and the intent each one sends
LABEL_INTENTS = {
    "label.more": "ask_more",
    "label.lower_back": "inform",
    "label.neck": "inform",
    "label.yes": "affirm",
    "label.no": "deny",
    "label.human": "request_human",
    "label.none": "inform",
    "label.leave": "deny",
}


def topic_intents() -> Dict[str, str]:
    registry = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["registry"]
    return {topic["id"]: topic["intent"] for topic in registry["topics"]}


def quick_replies() -> List[Tuple[str, str, str, str]]:
    """(language, key, text, expected intent) of every quick-reply text that exists."""
    topics = topic_intents()
    found = []
    for language_dir in sorted(p for p in TEXTS.iterdir() if p.is_dir()):
        for name in ("questions.yml", "labels.yml"):
            path = language_dir / name
            if not path.is_file():
                continue
            for text in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("texts") or []:
                key = str(text.get("key"))
                group, _, suffix = key.partition(".")
                if group == "question" and suffix in topics:
                    expected = topics[suffix]
                elif group == "label":
                    expected = LABEL_INTENTS.get(key) or topics.get(suffix, "")
                else:
                    continue
                if expected and text.get("short"):
                    found.append((language_dir.name, key, str(text["short"]), expected))
    return found


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import os

    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    tmp = tmp_path_factory.mktemp("nlu_model")
    previous = os.environ.get("RASA_CACHE_DIRECTORY")
    os.environ["RASA_CACHE_DIRECTORY"] = str(tmp / "cache")  # keep ./.rasa/cache clean
    cwd = os.getcwd()
    os.chdir(ROOT)  # config.yml and the components read paths relative to the repository
    try:
        model = train_nlu("config.yml", "data/nlu", str(tmp / "models"), fixed_model_name="nlu")
        assert model is not None
        yield Agent.load(model)
    finally:
        os.chdir(cwd)
        if previous is None:
            os.environ.pop("RASA_CACHE_DIRECTORY", None)
        else:
            os.environ["RASA_CACHE_DIRECTORY"] = previous


def parse(agent: Any, text: str) -> Dict[str, Any]:
    return asyncio.run(agent.parse_message(text))


def entities(result: Dict[str, Any], name: str) -> List[str]:
    return [e["value"] for e in sorted(result["entities"], key=lambda e: e["start"])
            if e["entity"] == name]


def test_there_are_quick_replies_to_check() -> None:
    assert {language for language, *_ in quick_replies()} >= {"en"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "language,key,text,expected", quick_replies(), ids=lambda v: str(v)[:40]
)
def test_quick_reply_is_read_as_its_intent(
    agent: Any, language: str, key: str, text: str, expected: str
) -> None:
    result = parse(agent, text)
    assert result["intent"]["name"] == expected, (
        f"{language} {key} {text!r} -> {result['intent']} "
        f"(ranking {[r['name'] for r in result['intent_ranking'][:3]]})"
    )


@pytest.mark.slow
def test_pipeline_order_and_entities(agent: Any) -> None:
    result = parse(agent, "should I stop eliquis before my neck procedure")
    assert result["intent"]["name"] == "ask_blood_thinners"
    assert entities(result, "medication") == ["apixaban"]
    assert entities(result, "procedure_site") == ["cervical"]
    assert entities(result, "language") == ["en"]


@pytest.mark.slow
def test_several_questions_become_topic_entities(agent: Any) -> None:
    result = parse(agent, "do i need to fast and do i need a driver?")
    assert entities(result, "topic") == ["ask_fasting", "ask_driver"]
    assert result["intent"]["name"] == "ask_fasting"
    spanish = parse(agent, "hasta que hora puedo comer y puedo volver en taxi?")
    assert entities(spanish, "topic") == ["ask_fasting", "ask_driver"]


@pytest.mark.slow
def test_drug_only_messages_follow_the_drug_class(agent: Any) -> None:
    assert parse(agent, "xarelto?")["intent"]["name"] == "ask_blood_thinners"
    assert parse(agent, "¿y el Sintrom?")["intent"]["name"] == "ask_blood_thinners"
    assert parse(agent, "what about my ozempic")["intent"]["name"] == "ask_medications"


@pytest.mark.slow
def test_red_flag_wins_and_spanish_is_tagged(agent: Any) -> None:
    result = parse(agent, "I take Xarelto for my lower back and cant feel my legs")
    assert result["intent"] == {"name": "report_emergency", "confidence": 1.0}
    spanish = parse(agent, "¿Me van a dormir con anestesia general para la rizólisis?")
    assert spanish["intent"]["name"] == "ask_sedation"
    assert entities(spanish, "language") == ["es"]
