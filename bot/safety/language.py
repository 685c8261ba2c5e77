"""Which language a patient writes in: English or Spanish, from the message itself.

Why lingua: it is built for short text (one to five words is common in chat and SMS), works
offline from its packaged models, and can be restricted to the languages the assistant
writes, so "tinc la cama adormida" (Catalan) counts as Spanish. When it is unsure (a number, an
emoji, "ok"), the hint wins: the conversation's language, else the clinic's default.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Optional, Sequence

logger = logging.getLogger(__name__)

# Below this confidence the hint (conversation or clinic language) is kept. One or two words
# say little: on the dev set's first words, lingua was never wrong on one word at >= 0.95 or
# on two words at >= 0.8, and never on three or more at >= 0.6 (scripts/bench_triage.py).
MINIMUM_CONFIDENCE = 0.6
MINIMUM_CONFIDENCE_BY_WORDS = {1: 0.95, 2: 0.8}


@dataclass(frozen=True)
class Detected:
    """A language decision and where it came from ("lingua", "hint", "default")."""

    language: str
    source: str
    confidence: Optional[float] = None


class LanguageDetector:
    """lingua restricted to `languages` (ISO 639-1 codes it knows), models preloaded once."""

    _CODES = {"en": "ENGLISH", "es": "SPANISH"}

    def __init__(self, languages: Sequence[str] = ("en", "es"), default: str = "en",
                 minimum_confidence: Optional[float] = None) -> None:
        self.languages = tuple(languages)
        self.default = default
        self.minimum_confidence = minimum_confidence
        self._detector: Any = None
        self._failed = False
        self._lock = threading.Lock()

    def _lingua(self) -> Any:
        if self._detector is not None or self._failed:
            return self._detector
        with self._lock:
            if self._detector is None and not self._failed:
                try:
                    from lingua import Language, LanguageDetectorBuilder

                    wanted = [getattr(Language, self._CODES[code]) for code in self.languages
                              if code in self._CODES]
                    self._detector = (LanguageDetectorBuilder.from_languages(*wanted)
                                      .with_preloaded_language_models().build())
                except Exception:  # noqa: BLE001 - a missing detector must not stop triage
                    logger.warning("language detector unavailable; using the hint")
                    self._failed = True
        return self._detector

    def warm_up(self) -> None:
        """Load the models now (they take a few hundred milliseconds)."""
        self._lingua()

    def _minimum(self, text: str) -> float:
        if self.minimum_confidence is not None:
            return self.minimum_confidence
        return MINIMUM_CONFIDENCE_BY_WORDS.get(len(text.split()), MINIMUM_CONFIDENCE)

    def detect(self, text: str, hint: Optional[str] = None) -> Detected:
        """The message's language; the hint (else the default) when lingua is unsure."""
        fallback = hint if hint in self.languages else None
        detector = self._lingua()
        if detector is not None and any(c.isalpha() for c in text):
            values = detector.compute_language_confidence_values(text)
            if values:
                top = values[0]
                code = next((c for c, name in self._CODES.items()
                             if name == top.language.name), None)
                if code in self.languages and top.value >= self._minimum(text):
                    return Detected(code, "lingua", float(top.value))
                if fallback is None and code in self.languages:
                    return Detected(code, "lingua", float(top.value))
        if fallback is not None:
            return Detected(fallback, "hint")
        return Detected(self.default, "default")
