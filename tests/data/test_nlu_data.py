"""Data-quality checks for the NLU training data in ``data/nlu/<language>/<intent>.yml``.

The intent list is not written here: it comes from the topic registry ``data/kb/topics.yml``
(every topic's intent plus ``registry.intents.respond``). The safety intents
(``registry.intents.safety``) must NOT have training examples: the safety triage owns them and
they are measured on the triage set. Runs in the actions environment with PyYAML only.

Checks, per language of the registry:
1. exactly one file per intent, named after it, holding that intent only;
2. every intent has a minimum number of examples;
3. no exact duplicates (case, accents, punctuation and spacing ignored) within the language,
   and no near-duplicates within an intent (token-set Jaccard similarity);
4. no entity markup: entities come from the KB-driven extractor, never from annotations.

Every failure names the file and the offending example.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "data" / "nlu"
REGISTRY = ROOT / "data" / "kb" / "topics.yml"

MIN_TOPIC_EXAMPLES = 40  # an intent that names a topic of the registry
MIN_OTHER_EXAMPLES = 20  # conversation intents (greet, affirm, inform, ...)
NEAR_DUPLICATE_JACCARD = 0.8
NEAR_DUPLICATE_MIN_TOKENS = 4
MAX_LISTED = 40

ENTITY_MARKUP = re.compile(r"\[[^\[\]]+\](?:\([^()]*\)|\{[^{}]*\})")


@dataclass(frozen=True)
class Registry:
    languages: Tuple[str, ...]
    topic_intents: Tuple[str, ...]
    respond_intents: Tuple[str, ...]
    safety_intents: Tuple[str, ...]

    @property
    def intents(self) -> Tuple[str, ...]:
        return self.topic_intents + self.respond_intents


@dataclass(frozen=True)
class Example:
    path: str
    intent: str
    text: str


@functools.lru_cache(maxsize=1)
def registry() -> Registry:
    raw = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["registry"]
    intents = raw.get("intents") or {}
    return Registry(
        languages=tuple(raw["languages"]),
        topic_intents=tuple(topic["intent"] for topic in raw["topics"]),
        respond_intents=tuple(intents.get("respond") or ()),
        safety_intents=tuple(intents.get("safety") or ()),
    )


@functools.cache
def load_language(language: str) -> Tuple[Tuple[Example, ...], Tuple[str, ...]]:
    """The examples of one language and the problems met while reading them."""
    examples: List[Example] = []
    problems: List[str] = []
    for path in sorted((NLU_DIR / language).glob("*.yml")):
        rel = str(path.relative_to(ROOT))
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            problems.append(f"{rel}: does not parse ({error})")
            continue
        blocks = data.get("nlu") or []
        intents = [block.get("intent") for block in blocks if isinstance(block, dict)]
        if intents != [path.stem]:
            problems.append(f"{rel}: must hold exactly the intent {path.stem!r}, has {intents}")
        for block in blocks:
            if not isinstance(block, dict) or "intent" not in block:
                problems.append(f"{rel}: a block that is not an intent ({block!r:.60})")
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if not line:
                    continue
                if not line.startswith("- "):
                    problems.append(f"{rel}: not a list item: {line!r}")
                    continue
                examples.append(Example(rel, str(block["intent"]), line[2:].strip()))
    return tuple(examples), tuple(problems)


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[^\w]+", " ", text).strip()


def jaccard(first: Set[str], second: Set[str]) -> float:
    return len(first & second) / len(first | second) if first | second else 0.0


def fail_with(title: str, problems: List[str]) -> None:
    if problems:
        shown = "\n  ".join(problems[:MAX_LISTED])
        extra = len(problems) - MAX_LISTED
        more = f"\n  ... and {extra} more" if extra > 0 else ""
        pytest.fail(f"{title} ({len(problems)}):\n  {shown}{more}", pytrace=False)


def by_intent(language: str) -> Dict[str, List[Example]]:
    grouped: Dict[str, List[Example]] = {}
    for example in load_language(language)[0]:
        grouped.setdefault(example.intent, []).append(example)
    return grouped


LANGUAGES = registry().languages


def test_registry_lists_intents() -> None:
    reg = registry()
    assert reg.topic_intents and reg.respond_intents and reg.safety_intents
    assert len(set(reg.intents)) == len(reg.intents), "an intent is listed twice"
    assert not set(reg.intents) & set(reg.safety_intents)


def test_no_flat_files_outside_the_language_folders() -> None:
    stray = sorted(str(p.relative_to(ROOT)) for p in NLU_DIR.glob("*.yml"))
    folders = sorted(p.name for p in NLU_DIR.iterdir() if p.is_dir())
    assert not stray, f"NLU files must live in data/nlu/<language>/: {stray}"
    assert folders == sorted(LANGUAGES), f"one folder per registry language, found {folders}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_files_parse_and_hold_their_intent(language: str) -> None:
    fail_with(f"{language}: unreadable or misnamed files", list(load_language(language)[1]))


@pytest.mark.parametrize("language", LANGUAGES)
def test_one_file_per_registry_intent(language: str) -> None:
    reg = registry()
    present = {path.stem for path in (NLU_DIR / language).glob("*.yml")}
    missing = sorted(set(reg.intents) - present)
    extra = sorted(present - set(reg.intents))
    assert not missing, f"{language}: intents of the registry without a file: {missing}"
    assert not extra, (
        f"{language}: files for intents the registry does not answer: {extra} "
        f"(safety intents {list(reg.safety_intents)} belong to the triage set)"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_minimum_examples(language: str) -> None:
    reg = registry()
    grouped = by_intent(language)
    short = []
    for intent in reg.intents:
        needed = MIN_TOPIC_EXAMPLES if intent in reg.topic_intents else MIN_OTHER_EXAMPLES
        have = len(grouped.get(intent, []))
        if have < needed:
            short.append(f"{intent}: {have} examples, at least {needed} needed")
    fail_with(f"{language}: intents with too few examples", short)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_exact_duplicates(language: str) -> None:
    seen: Dict[str, Example] = {}
    problems = []
    for example in load_language(language)[0]:
        key = normalise(example.text)
        if not key:
            problems.append(f"{example.path}: empty example {example.text!r}")
        elif key in seen:
            first = seen[key]
            problems.append(
                f"{example.path} ({example.intent}) {example.text!r} repeats "
                f"{first.path} ({first.intent}) {first.text!r}"
            )
        else:
            seen[key] = example
    fail_with(f"{language}: duplicate examples", problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_near_duplicates_within_an_intent(language: str) -> None:
    problems = []
    for intent, examples in sorted(by_intent(language).items()):
        tokens = [(e, set(normalise(e.text).split())) for e in examples]
        tokens = [(e, t) for e, t in tokens if len(t) >= NEAR_DUPLICATE_MIN_TOKENS]
        for (first, a), (second, b) in itertools.combinations(tokens, 2):
            if jaccard(a, b) >= NEAR_DUPLICATE_JACCARD:
                problems.append(f"{intent}: {first.text!r} ~ {second.text!r}")
    fail_with(f"{language}: near-duplicate examples", problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_entity_markup(language: str) -> None:
    marked = [
        f"{e.path}: {e.text!r}" for e in load_language(language)[0] if ENTITY_MARKUP.search(e.text)
    ]
    fail_with(f"{language}: entity markup (entities come from the KB extractor)", marked)
