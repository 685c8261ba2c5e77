"""Language tagger: sets the entity `language` (en | es) on each message it is sure about.

Order of evidence, first that applies wins:
1. an explicit switch in the text ("English please", "in English", "en español",
   "castellano", "¿habla español?"; a negated one, "no hablo inglés", asks for the other
   language) - the patient's request always wins, even over the channel;
2. `metadata["language"]` of the message (set by the safety gate / channel) when it is one of
   `languages` (the gate's detector ignores the KB's drug names, so "iscover 75?" keeps the
   conversation's language);
3. `lingua-language-detector` restricted to English and Spanish, only when its confidence is
   at least `min_confidence` and the text has at least `min_letters` letters. Drug names, "ok",
   "gracias?" and other short texts are often not detectable; then no entity is set and the
   `language` slot keeps what the conversation had (the clinic's default at the start).

The slot `language` is filled from this entity (domain.yml), so the conversation remembers
it; the topic classifier uses it to pick its per-language model.

No `from __future__ import annotations`: Rasa inspects these signatures at runtime.
"""

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    METADATA,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.safety.language import ReadAs, requested_language

logger = logging.getLogger(__name__)

@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageTagger(GraphComponent, EntityExtractorMixin):
    """Adds one `language` entity when the language is known or confidently detected."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            "languages": ["en", "es"],
            "entity": "language",
            "metadata_key": "language",
            # lingua's confidence (0-1, EN vs ES) needed to tag a message; see bench results
            "min_confidence": 0.7,
            # shorter texts (letters only) are never detected
            "min_letters": 3,
            "detect": True,
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        """Reads the config; the detector is built on first use (~0.1 s)."""
        self._config = {**self.get_default_config(), **config}
        self._languages = [str(lang) for lang in self._config["languages"]]
        self._detector: Any = None
        self._read_as_detector: Optional[ReadAs] = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        """Creates the component (see parent class for full docstring)."""
        return cls(config)

    @staticmethod
    def required_packages() -> List[Text]:
        """Lists required dependencies (see parent class for full docstring)."""
        return ["lingua"]

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends the `language` entity to each message whose language is known."""
        for message in messages:
            text = str(message.get(TEXT) or "")
            metadata = message.get(METADATA) or {}
            found = self.language_of(text, metadata if isinstance(metadata, dict) else {})
            if found is None:
                continue
            language, start, end, confidence = found
            entity = {
                ENTITY_ATTRIBUTE_TYPE: self._config["entity"],
                ENTITY_ATTRIBUTE_VALUE: language,
                ENTITY_ATTRIBUTE_START: start,
                ENTITY_ATTRIBUTE_END: end,
                ENTITY_ATTRIBUTE_CONFIDENCE: round(confidence, 4),
            }
            entities = [
                e for e in message.get(ENTITIES) or []
                if e.get(ENTITY_ATTRIBUTE_TYPE) != self._config["entity"]
            ]
            message.set(
                ENTITIES, entities + self.add_extractor_name([entity]), add_to_output=True
            )
        return messages

    def language_of(
        self, text: Text, metadata: Optional[Dict[Text, Any]] = None
    ) -> Optional[Tuple[Text, int, int, float]]:
        """(language, start, end, confidence) of the evidence found, or None."""
        switch = self.switch_in(text)
        if switch is not None:
            return switch
        wanted = (metadata or {}).get(self._config["metadata_key"])
        if isinstance(wanted, str) and wanted.lower()[:2] in self._languages:
            return wanted.lower()[:2], 0, len(text), 1.0
        if not self._config["detect"]:
            return None
        detected = self.detect(text)
        if detected is None:
            return None
        return detected[0], 0, len(text), detected[1]

    def switch_in(self, text: Text) -> Optional[Tuple[Text, int, int, float]]:
        """An explicit request for a language (offsets into `text`), negation flipping it."""
        found = requested_language(text, self._languages)
        return None if found is None else (*found, 1.0)

    def detect(self, text: Text) -> Optional[Tuple[Text, float]]:
        """(language, confidence) from lingua when confident enough, else None."""
        letters = sum(char.isalpha() for char in text)
        if letters < int(self._config["min_letters"]):
            return None
        values = self.confidences(text)
        if not values:
            return None
        language, confidence = values[0]
        if language == "en":
            read = self._read_as().language(text)
            if read is not None:
                return read
        if confidence < float(self._config["min_confidence"]):
            return None
        return language, confidence

    def _read_as(self) -> ReadAs:
        if self._read_as_detector is None:
            self._read_as_detector = ReadAs(self._languages)
        return self._read_as_detector

    def confidences(self, text: Text) -> List[Tuple[Text, float]]:
        """lingua's confidence for each language, highest first ([] when unavailable)."""
        detector = self._lingua()
        if detector is None:
            return []
        values = detector.compute_language_confidence_values(text)
        found = [
            (value.language.iso_code_639_1.name.lower(), float(value.value)) for value in values
        ]
        return sorted(
            [(lang, conf) for lang, conf in found if lang in self._languages],
            key=lambda item: -item[1],
        )

    def _lingua(self) -> Any:
        if self._detector is None:
            try:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
            except ImportError:
                logger.warning("lingua-language-detector is not installed; no detection.")
                self._config["detect"] = False
                return None
            wanted = [
                Language.from_iso_code_639_1(getattr(IsoCode639_1, lang.upper()))
                for lang in self._languages
            ]
            self._detector = LanguageDetectorBuilder.from_languages(*wanted).build()
        return self._detector
