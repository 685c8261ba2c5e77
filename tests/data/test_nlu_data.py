"""Data-quality checks for the NLU training data in ``data/nlu/*.yml``.

The checks run in the actions environment and use PyYAML only (no ``rasa``
import). They cover:

1. the set of intents is exactly the one analytics expects;
2. every intent has enough examples;
3. no exact duplicates across the data set and no near-duplicates within an
   intent (token-set Jaccard similarity);
4. every ``medication`` entity value is a generic name from the medication
   catalogue ``data/kb/medications.yml``;
5. every ``procedure_site`` entity value is ``lumbar`` or ``cervical``;
6. the entity markup parses (balanced brackets, valid JSON after the bracket);

plus two structural checks: one intent per file (``chitchat.yml`` excepted)
and consistent annotation (a phrase annotated as an entity somewhere must be
annotated wherever it occurs).

Every failure names the file, the intent and the offending example.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NLU_DIR = ROOT / "data" / "nlu"
MEDICATIONS_KB = ROOT / "data" / "kb" / "medications.yml"

TOPIC_INTENTS: Tuple[str, ...] = (
    "ask_fasting",
    "ask_blood_thinners",
    "ask_driver",
    "ask_positioning",
    "ask_sedation",
    "ask_medications",
    "ask_what_to_bring",
    "ask_logistics",
    "report_illness",
    "ask_procedure_info",
    "ask_procedure_steps",
    "ask_eligibility",
    "ask_risks",
    "ask_recovery",
    "ask_effectiveness",
    "ask_diagnostic_block",
    "request_human",
    "out_of_scope",
    "ask_plan",  # "What's my plan?" (personalised plan, issue 4)
)
EMERGENCY_INTENT = "report_emergency"
CONVERSATION_INTENTS: Tuple[str, ...] = (
    "inform",
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
)
EXPECTED_INTENTS: FrozenSet[str] = frozenset(
    TOPIC_INTENTS + (EMERGENCY_INTENT,) + CONVERSATION_INTENTS
)

MIN_TOPIC_EXAMPLES = 30
MIN_EMERGENCY_EXAMPLES = 80
MIN_CONVERSATION_EXAMPLES = 20

NEAR_DUPLICATE_JACCARD = 0.8
NEAR_DUPLICATE_MIN_TOKENS = 4

MULTI_INTENT_FILE = "chitchat.yml"
ENTITY_TYPES: FrozenSet[str] = frozenset({"medication", "procedure_site"})
PROCEDURE_SITES: FrozenSet[str] = frozenset({"lumbar", "cervical"})

# Same shape as Rasa's entity markup: [text](entity) or [text]{"entity": ...}.
ENTITY_MARKUP = re.compile(
    r"\[(?P<text>[^\[\]]+?)\](?:\((?P<short>[^()]*?)\)|(?P<json>\{[^{}]*?\}))"
)
STRAY_MARKUP_CHARS = re.compile(r"[\[\]{}]")
NON_WORD = re.compile(r"[^\w\s]")
WHITESPACE = re.compile(r"\s+")

MAX_LISTED = 60


@dataclass(frozen=True)
class Entity:
    """One annotated entity, located in the example's plain text."""

    entity: str
    value: str
    text: str
    start: int
    end: int


@dataclass
class Example:
    """One training example with its markup stripped."""

    path: str
    intent: str
    raw: str
    text: str = ""
    entities: List[Entity] = field(default_factory=list)
    markup_errors: List[str] = field(default_factory=list)

    def where(self) -> str:
        """Return a human-readable location for failure messages.

        Returns:
            ``file [intent]: raw example``.
        """
        return f"{self.path} [{self.intent}]: {self.raw}"


@dataclass
class NluData:
    """Everything read from ``data/nlu/*.yml``."""

    examples: List[Example] = field(default_factory=list)
    file_errors: List[str] = field(default_factory=list)
    intents_by_file: Dict[str, List[str]] = field(default_factory=dict)


def parse_markup(example: Example) -> None:
    """Strip the entity markup of ``example`` and record entities and errors.

    Args:
        example: the example to fill in; ``raw`` must be set.
    """
    plain: List[str] = []
    cursor = 0
    length = 0
    for match in ENTITY_MARKUP.finditer(example.raw):
        before = example.raw[cursor : match.start()]
        plain.append(before)
        length += len(before)
        text = match.group("text")
        entity: Optional[str] = None
        value: Optional[str] = None
        if match.group("short") is not None:
            entity = match.group("short").strip()
            value = text
            if ":" in entity:
                example.markup_errors.append(
                    f"legacy '(entity:value)' markup in {match.group(0)!r}; "
                    'use {"entity": ..., "value": ...}'
                )
                entity = entity.split(":", 1)[0]
        else:
            entity, value = _parse_entity_json(example, match.group(0))
        if entity is not None:
            if entity not in ENTITY_TYPES:
                example.markup_errors.append(
                    f"unknown entity type {entity!r} in {match.group(0)!r}"
                )
            if text != text.strip():
                example.markup_errors.append(
                    f"entity text has surrounding spaces in {match.group(0)!r}"
                )
            example.entities.append(
                Entity(entity, value or text, text, length, length + len(text))
            )
        plain.append(text)
        length += len(text)
        cursor = match.end()
    plain.append(example.raw[cursor:])
    example.text = "".join(plain)
    stray = STRAY_MARKUP_CHARS.findall(example.text)
    if stray:
        example.markup_errors.append(
            f"unbalanced or malformed entity markup (stray {''.join(stray)!r})"
        )


def _parse_entity_json(
    example: Example, markup: str
) -> Tuple[Optional[str], Optional[str]]:
    """Parse the JSON part of ``[text]{...}`` markup.

    Args:
        example: the example, to record errors on.
        markup: the whole markup match, e.g. ``[Eliquis]{"entity": ...}``.

    Returns:
        ``(entity, value)``; both ``None`` when the JSON is unusable.
    """
    body = markup[markup.index("]") + 1 :]
    try:
        parsed: Any = json.loads(body)
    except json.JSONDecodeError as error:
        example.markup_errors.append(f"invalid JSON in {markup!r}: {error}")
        return None, None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("entity"), str):
        example.markup_errors.append(f"JSON without an 'entity' string: {markup!r}")
        return None, None
    unknown = set(parsed) - {"entity", "value", "role", "group"}
    if unknown:
        example.markup_errors.append(f"unexpected keys {sorted(unknown)} in {markup!r}")
    value = parsed.get("value")
    if value is not None and not isinstance(value, str):
        example.markup_errors.append(f"non-string value in {markup!r}")
        value = str(value)
    return parsed["entity"], value


def _read_file(path: Path, data: NluData) -> None:
    """Read one NLU file into ``data``, recording structural problems.

    Args:
        path: the YAML file.
        data: the accumulator.
    """
    name = path.name
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        data.file_errors.append(f"{name}: YAML does not parse: {error}")
        return
    if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
        data.file_errors.append(f"{name}: no top-level 'nlu:' list")
        return
    if str(document.get("version")) != "3.1":
        data.file_errors.append(f'{name}: version should be "3.1"')
    intents = data.intents_by_file.setdefault(name, [])
    for index, item in enumerate(document["nlu"]):
        if not isinstance(item, dict) or "intent" not in item:
            continue  # synonyms, lookups and regexes are not checked here
        intent = item["intent"]
        examples = item.get("examples")
        if not isinstance(examples, str):
            data.file_errors.append(
                f"{name}: item {index} ({intent}) needs 'examples: |' (a block literal)"
            )
            continue
        intents.append(intent)
        for line in examples.splitlines():
            if not line.strip():
                continue
            if not line.startswith("- "):
                data.file_errors.append(
                    f"{name} [{intent}]: line does not start with '- ': {line!r}"
                )
                continue
            example = Example(path=name, intent=intent, raw=line[2:].strip())
            parse_markup(example)
            data.examples.append(example)


@functools.lru_cache(maxsize=1)
def load_nlu() -> NluData:
    """Load and parse every ``data/nlu/*.yml`` once per test session.

    Returns:
        The parsed examples and any file-level errors.
    """
    data = NluData()
    paths = sorted(NLU_DIR.glob("*.yml"))
    if not paths:
        data.file_errors.append(f"no NLU files found in {NLU_DIR}")
    for path in paths:
        _read_file(path, data)
    return data


def normalise(text: str) -> str:
    """Lowercase, drop punctuation and collapse whitespace.

    Args:
        text: plain example text (markup already stripped).

    Returns:
        The normalised text used for duplicate detection.
    """
    return WHITESPACE.sub(" ", NON_WORD.sub("", text.lower())).strip()


def jaccard(first: Set[str], second: Set[str]) -> float:
    """Token-set Jaccard similarity.

    Args:
        first: tokens of one example.
        second: tokens of the other example.

    Returns:
        ``|A & B| / |A | B|``, 0.0 for two empty sets.
    """
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def minimum_for(intent: str) -> int:
    """Return the minimum number of examples required for ``intent``.

    Args:
        intent: the intent name.

    Returns:
        The required minimum.
    """
    if intent == EMERGENCY_INTENT:
        return MIN_EMERGENCY_EXAMPLES
    if intent in CONVERSATION_INTENTS:
        return MIN_CONVERSATION_EXAMPLES
    return MIN_TOPIC_EXAMPLES


def fail_with(title: str, problems: List[str]) -> None:
    """Fail the current test with a bounded list of problems.

    Args:
        title: the headline.
        problems: one line per problem.
    """
    shown = problems[:MAX_LISTED]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more else ""
    pytest.fail(f"{title} ({len(problems)}):\n  " + "\n  ".join(shown) + tail)


def kb_generic_names() -> Set[str]:
    """Read the generic names from the medication catalogue.

    Returns:
        ``medications[*].generic`` from ``data/kb/medications.yml``.
    """
    if not MEDICATIONS_KB.exists():
        pytest.fail(f"medication catalogue not found: {MEDICATIONS_KB}")
    document = yaml.safe_load(MEDICATIONS_KB.read_text(encoding="utf-8")) or {}
    entries = document.get("medications") or []
    return {
        str(entry["generic"]).strip()
        for entry in entries
        if isinstance(entry, dict) and entry.get("generic")
    }


# ----------------------------------------------------------------- structure


def test_files_parse() -> None:
    """Every NLU file is valid YAML in the Rasa 3.1 training-data shape."""
    data = load_nlu()
    if data.file_errors:
        fail_with("NLU files with structural problems", data.file_errors)


def test_one_intent_per_file() -> None:
    """Each file holds one intent (chitchat.yml excepted); none is split."""
    data = load_nlu()
    problems: List[str] = []
    owner: Dict[str, str] = {}
    for name, intents in sorted(data.intents_by_file.items()):
        if name != MULTI_INTENT_FILE and len(intents) > 1:
            problems.append(f"{name}: {len(intents)} intents {intents}")
        for intent in intents:
            if intent in owner:
                problems.append(f"{intent} appears in both {owner[intent]} and {name}")
            owner.setdefault(intent, name)
    if problems:
        fail_with("intent/file layout problems", problems)


def test_entity_markup_parses() -> None:
    """Brackets are balanced and the JSON after every bracket is valid (6)."""
    problems = [
        f"{example.where()}\n      -> {error}"
        for example in load_nlu().examples
        for error in example.markup_errors
    ]
    if problems:
        fail_with("examples with malformed entity markup", problems)


# ----------------------------------------------------------------- intents


def test_intent_set_is_exact() -> None:
    """The intents are exactly the names analytics depends on (1)."""
    found = {example.intent for example in load_nlu().examples}
    missing = sorted(EXPECTED_INTENTS - found)
    unexpected = sorted(found - EXPECTED_INTENTS)
    assert (
        not missing and not unexpected
    ), f"missing intents: {missing}; unexpected intents: {unexpected}"


@pytest.mark.parametrize("intent", sorted(EXPECTED_INTENTS))
def test_minimum_examples(intent: str) -> None:
    """Each intent has enough examples (2).

    Args:
        intent: the intent under test.
    """
    count = sum(1 for example in load_nlu().examples if example.intent == intent)
    required = minimum_for(intent)
    assert count >= required, f"{intent}: {count} examples, needs >= {required}"


def test_no_exact_duplicates() -> None:
    """No two examples anywhere are equal after normalisation (3)."""
    seen: Dict[str, Example] = {}
    problems: List[str] = []
    for example in load_nlu().examples:
        key = normalise(example.text)
        if not key:
            problems.append(f"{example.where()}\n      -> empty after normalising")
            continue
        if key in seen:
            problems.append(
                f"{seen[key].where()}\n      == {example.where()}"
                f"  (normalised: {key!r})"
            )
        else:
            seen[key] = example
    if problems:
        fail_with("duplicate examples", problems)


@pytest.mark.parametrize("intent", sorted(EXPECTED_INTENTS))
def test_no_near_duplicates(intent: str) -> None:
    """No two examples of one intent are near-duplicates (3).

    Two examples of at least ``NEAR_DUPLICATE_MIN_TOKENS`` tokens whose
    token sets have a Jaccard similarity of ``NEAR_DUPLICATE_JACCARD`` or more
    count as near-duplicates.

    Args:
        intent: the intent under test.
    """
    candidates = []
    for example in load_nlu().examples:
        tokens = normalise(example.text).split()
        if example.intent == intent and len(tokens) >= NEAR_DUPLICATE_MIN_TOKENS:
            candidates.append((example, set(tokens)))
    problems: List[str] = []
    for (first, first_tokens), (second, second_tokens) in itertools.combinations(
        candidates, 2
    ):
        score = jaccard(first_tokens, second_tokens)
        if score >= NEAR_DUPLICATE_JACCARD:
            problems.append(f"{score:.2f}  {first.where()}\n        ~ {second.where()}")
    if problems:
        fail_with(f"near-duplicate pairs in {intent}", problems)


# ----------------------------------------------------------------- entities


def test_medication_values_are_catalogue_generics() -> None:
    """Every medication value is a generic name from the catalogue (4)."""
    generics = kb_generic_names()
    problems: List[str] = []
    missing: Set[str] = set()
    for example in load_nlu().examples:
        for entity in example.entities:
            if entity.entity == "medication" and entity.value not in generics:
                missing.add(entity.value)
                problems.append(
                    f"{example.where()}\n      -> value {entity.value!r} "
                    f"(text {entity.text!r}) is not a generic in {MEDICATIONS_KB.name}"
                )
    if problems:
        fail_with(
            f"medication values missing from the catalogue {sorted(missing)}",
            problems,
        )


def test_procedure_site_values() -> None:
    """Every procedure_site value is lumbar or cervical (5)."""
    problems = [
        f"{example.where()}\n      -> value {entity.value!r} (text {entity.text!r})"
        for example in load_nlu().examples
        for entity in example.entities
        if entity.entity == "procedure_site" and entity.value not in PROCEDURE_SITES
    ]
    if problems:
        fail_with("procedure_site values other than lumbar/cervical", problems)


def kb_surface_forms() -> Set[str]:
    """Collect the catalogue's generic names, brands and misspellings.

    Returns:
        Lowercase surface forms of at least three characters; empty when the
        catalogue is missing (``test_medication_values_are_catalogue_generics``
        reports that).
    """
    if not MEDICATIONS_KB.exists():
        return set()
    document = yaml.safe_load(MEDICATIONS_KB.read_text(encoding="utf-8")) or {}
    forms: Set[str] = set()
    for entry in document.get("medications") or []:
        if not isinstance(entry, dict):
            continue
        names: List[Any] = [entry.get("generic")]
        brands = entry.get("brands") or {}
        if isinstance(brands, dict):
            for per_market in brands.values():
                names.extend(per_market or [])
        names.extend(entry.get("misspellings") or [])
        forms.update(str(name).strip().lower() for name in names if name)
    return {form for form in forms if len(form) >= 3}


def test_entity_mentions_are_annotated() -> None:
    """Every mention of a known entity phrase carries entity markup.

    Known phrases are those annotated anywhere in the data plus the
    catalogue's generics, brands and misspellings. Unannotated mentions teach
    the extractor that the phrase is not an entity.
    """
    examples = load_nlu().examples
    surface_forms = kb_surface_forms() | {
        entity.text.lower()
        for example in examples
        for entity in example.entities
        if len(entity.text) > 1
    }
    patterns = [
        re.compile(rf"(?<!\w){re.escape(form)}(?!\w)", re.IGNORECASE)
        for form in sorted(surface_forms)
    ]
    problems: List[str] = []
    for example in examples:
        spans = [(entity.start, entity.end) for entity in example.entities]
        unannotated = {
            match.group(0)
            for pattern in patterns
            for match in pattern.finditer(example.text)
            if not any(
                start < match.end() and match.start() < end for start, end in spans
            )
        }
        if unannotated:
            problems.append(
                f"{example.where()}\n      -> not annotated: {sorted(unannotated)}"
            )
    if problems:
        fail_with("entity phrases left without markup", problems)
