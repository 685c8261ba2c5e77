"""Safety net that forces a triage intent when a message describes a red-flag symptom.

Placeholder for the safety gate (bot/safety, another branch): kept in the pipeline so red flags
still win over the topic classifier meanwhile. Each KB red flag has a `level` (emergency |
crisis | urgent) and the message gets the intent of its most severe flag: report_emergency,
report_crisis or report_urgent (`intents_by_level`). Patterns of every language are matched;
the negation and hypothetical cues below are English only.

Why: DIET is trained on a few dozen emergency examples and can miss a phrasing ("cant feel my
legs", ALL CAPS, a typo). Missing "I can't feel my legs" after a rhizotomy is the worst error
this assistant can make, so the red-flag regular expressions from the clinic KB are checked on
every message after DIET and before FallbackClassifier. A match that is negated ("no numbness")
or hypothetical ("what if I can't feel my legs") is ignored; anything else wins over DIET with
confidence 1.0, and the other intents are scaled down so FallbackClassifier's ambiguity check
cannot turn the red flag into `nlu_fallback`. The detector never removes or lowers a
`report_emergency` that DIET predicted itself.

No `from __future__ import annotations`: Rasa inspects these signatures at runtime.
"""

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Pattern, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.vocabulary import DEFAULT_VOCABULARY_PATH, KbVocabulary, load_vocabulary

logger = logging.getLogger(__name__)

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"}

# A negation only reaches back to the start of its clause.
_CLAUSE_BOUNDARY = re.compile(r"[.,;:!?\n]|\b(?:but|and)\b")
# A hypothetical cue counts anywhere earlier in the same sentence ("what if, after it, ...").
_SENTENCE_BOUNDARY = re.compile(r"[.;!?\n]")
_WORD = re.compile(r"[a-z0-9']+")

_NEGATION_CUE = re.compile(
    r"(?<![a-z'])(?:no longer|do not|don'?t|haven'?t|hasn'?t|isn'?t|not|no|never|without|denies)"
    r"(?![a-z'])"
)
# "not sure", "no idea", "don't know why", "not kidding": the cue does not negate the symptom.
_PSEUDO_NEGATION = re.compile(
    r"^\s*(?:sure|idea|doubt|only|just|know|understand|certain|kidding|joking|lying)\b"
)
# "no my legs are numb", "no i can't feel my legs": an answer to a question, not a negation.
_INTERJECTION_NO = re.compile(
    r"^\s*(?:i|i'm|im|my|it|it's|its|the|he|she|he's|she's|we|they|his|her|our|their|now)\b"
)
# "it will not stop bleeding", "has not stopped bleeding": the symptom is affirmed.
_CONTINUATION = re.compile(r"\b(?:stop|stops|stopped|stopping|quit|ease|easing|go away)\b")

_HYPOTHETICAL_CUE = re.compile(
    r"\b(?:what if|what happens if|what should i do if|should i worry if|in case|"
    r"is it possible|will i|will my|could i|would i|might|if)\b"
)


@dataclass(frozen=True)
class RedFlagHit:
    """A red flag found in a message, with character offsets into the original text."""

    red_flag_id: Text
    start: int
    end: int


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class RedFlagDetector(GraphComponent, IntentClassifier, EntityExtractorMixin):
    """Overrides the intent with `report_emergency` and tags the red flag as an entity.

    Like DIETClassifier it is both an intent classifier and an entity extractor, so
    FallbackClassifier accepts it as a preceding classifier and `rasa test` attributes the
    `red_flag` entities to it.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # JSON written by `make kb-export`; relative paths start at the working directory.
            "vocabulary_path": DEFAULT_VOCABULARY_PATH,
            # intent forced for each red-flag level; the most severe level found wins
            "intents_by_level": {
                "emergency": "report_emergency",
                "crisis": "report_crisis",
                "urgent": "report_urgent",
            },
            # severity order of the levels, most severe first
            "level_order": ["emergency", "crisis", "urgent"],
            # entity appended for each red flag found; its value is the KB id
            "entity": "red_flag",
            # how many words before a match a negation cue may stand ("I don't have a fever")
            "negation_window": 5,
            # other intents stay in the ranking, their confidences multiplied by this, so
            # FallbackClassifier never sees two intents within its ambiguity threshold
            "other_intent_confidence_factor": 0.5,
            # "call the clinic now" flags (not emergencies) leave these intents alone when the
            # classifier is this sure: "I have a fever and my procedure is tomorrow" is an
            # illness before the procedure (answered with the clinic's screening advice).
            "defer_to_intents": ["report_illness"],
            "defer_min_confidence": 0.5,
        }

    def __init__(self, config: Dict[Text, Any], vocabulary: KbVocabulary) -> None:
        """Compiles every red-flag pattern twice: as written, and with apostrophes removed."""
        self._config = {**self.get_default_config(), **config}
        self._vocabulary = vocabulary
        self._patterns: List[Tuple[Text, Pattern[Text], Pattern[Text]]] = []
        for red_flag in vocabulary.red_flags:
            for pattern in red_flag.patterns:
                pattern = _normalise_apostrophes(pattern)
                self._patterns.append(
                    (
                        red_flag.id,
                        re.compile(pattern, re.IGNORECASE),
                        re.compile(pattern.replace("'?", "").replace("'", ""), re.IGNORECASE),
                    )
                )

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """Creates a new component (see parent class for full docstring).

        The vocabulary is read here so that a server restart picks up a re-exported KB.
        """
        merged = {**cls.get_default_config(), **config}
        vocabulary = load_vocabulary(merged["vocabulary_path"])
        logger.debug(
            f"{cls.__name__}: loaded {len(vocabulary.red_flags)} red flags from "
            f"'{vocabulary.source_path}' (KB {vocabulary.kb_fingerprint[:12]})."
        )
        return cls(merged, vocabulary)

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        """Any: patterns of every language are matched (the cues are English only)."""
        return None

    def process(self, messages: List[Message]) -> List[Message]:
        """Forces the emergency intent and appends `red_flag` entities where a red flag is found.

        Args:
            messages: List of messages to process.

        Returns: The processed messages.
        """
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            hits = self.detect(text)
            if not hits or self._defers(message, hits):
                continue
            logger.debug(f"Red flags found: {[hit.red_flag_id for hit in hits]}")
            self._promote_intent(message, self._intent_for(hits))
            existing = message.get(ENTITIES, [])
            new_entities = [
                entity
                for entity in self.add_extractor_name([self._entity(hit) for hit in hits])
                if not _already_present(entity, existing)
            ]
            message.set(ENTITIES, existing + new_entities, add_to_output=True)
        return messages

    def detect(self, text: Text) -> List[RedFlagHit]:
        """The first affirmed (not negated, not hypothetical) match of each red flag, in order."""
        normalised = _normalise(text)
        stripped, positions = _without_apostrophes(normalised)
        hits: Dict[Text, RedFlagHit] = {}
        for red_flag_id, pattern, stripped_pattern in self._patterns:
            for variant, compiled, offsets in (
                (normalised, pattern, None),
                (stripped, stripped_pattern, positions),
            ):
                match = self._first_affirmed_match(variant, compiled)
                if match is None:
                    continue
                start, end = match
                if offsets is not None:
                    start, end = offsets[start], offsets[end - 1] + 1
                known = hits.get(red_flag_id)
                if known is None or start < known.start:
                    hits[red_flag_id] = RedFlagHit(red_flag_id, start, end)
        return sorted(hits.values(), key=lambda hit: hit.start)

    def _first_affirmed_match(
        self, text: Text, pattern: Pattern[Text]
    ) -> Optional[Tuple[int, int]]:
        for match in pattern.finditer(text):
            if match.end() <= match.start():
                continue
            if self._is_negated(text, match.start()) or _is_hypothetical(text, match.start()):
                continue
            return match.start(), match.end()
        return None

    def _is_negated(self, text: Text, start: int) -> bool:
        """A negation cue within `negation_window` words before the match, in its clause."""
        clause_start = max((m.end() for m in _CLAUSE_BOUNDARY.finditer(text, 0, start)), default=0)
        words = _WORD.findall(text[clause_start:start])[-int(self._config["negation_window"]) :]
        window = " ".join(words)
        for cue in _NEGATION_CUE.finditer(window):
            after = window[cue.end() :]
            if _PSEUDO_NEGATION.match(after) or _CONTINUATION.search(after):
                continue
            if cue.group() == "no" and _INTERJECTION_NO.match(after):
                continue
            return True
        return False

    def _levels(self, hits: List[RedFlagHit]) -> List[Text]:
        level_of = {flag.id: flag.level for flag in self._vocabulary.red_flags}
        return [level_of.get(hit.red_flag_id, "emergency") for hit in hits]

    def _intent_for(self, hits: List[RedFlagHit]) -> Text:
        """The intent of the most severe level among the hits (unknown levels: emergency)."""
        order = list(self._config["level_order"])
        intents = dict(self._config["intents_by_level"])
        levels = [level if level in intents else order[0] for level in self._levels(hits)]
        worst = min(levels, key=lambda level: order.index(level) if level in order else 0)
        return str(intents[worst])

    def _defers(self, message: Message, hits: List[RedFlagHit]) -> bool:
        """True when only `urgent` flags matched and the classifier is sure of an intent that
        already routes the patient to the clinic (see `defer_to_intents`)."""
        if any(level != "urgent" for level in self._levels(hits)):
            return False
        intent = message.get(INTENT) or {}
        return bool(
            intent.get(INTENT_NAME_KEY) in self._config["defer_to_intents"]
            and float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            >= float(self._config["defer_min_confidence"])
        )

    def _promote_intent(self, message: Message, name: Text) -> None:
        factor = float(self._config["other_intent_confidence_factor"])
        top = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        others = [
            {
                **ranked,
                PREDICTED_CONFIDENCE_KEY: float(ranked.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                * factor,
            }
            for ranked in message.get(INTENT_RANKING_KEY) or []
            if ranked.get(INTENT_NAME_KEY) != name
        ]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *others], add_to_output=True)

    def _entity(self, hit: RedFlagHit) -> Dict[Text, Any]:
        return {
            ENTITY_ATTRIBUTE_TYPE: self._config["entity"],
            ENTITY_ATTRIBUTE_START: hit.start,
            ENTITY_ATTRIBUTE_END: hit.end,
            ENTITY_ATTRIBUTE_VALUE: hit.red_flag_id,
            ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
        }


def _normalise_apostrophes(text: Text) -> Text:
    for variant, plain in _APOSTROPHES.items():
        text = text.replace(variant, plain)
    return text


def _normalise(text: Text) -> Text:
    """Lowercase with typographic apostrophes made plain, keeping every character offset."""
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return _normalise_apostrophes(lowered)


def _without_apostrophes(text: Text) -> Tuple[Text, List[int]]:
    """The text without apostrophes, and for each kept character its index in `text`."""
    positions = [index for index, char in enumerate(text) if char != "'"]
    return "".join(text[index] for index in positions), positions


def _is_hypothetical(text: Text, start: int) -> bool:
    """A hypothetical cue earlier in the match's sentence ("what if", "will my", "if ")."""
    sentence_start = max((m.end() for m in _SENTENCE_BOUNDARY.finditer(text, 0, start)), default=0)
    return _HYPOTHETICAL_CUE.search(text, sentence_start, start) is not None


def _already_present(entity: Dict[Text, Any], existing: List[Dict[Text, Any]]) -> bool:
    return any(
        other.get(ENTITY_ATTRIBUTE_TYPE) == entity[ENTITY_ATTRIBUTE_TYPE]
        and other.get(ENTITY_ATTRIBUTE_VALUE) == entity[ENTITY_ATTRIBUTE_VALUE]
        and other.get(EXTRACTOR) == entity.get(EXTRACTOR)
        for other in existing
    )
