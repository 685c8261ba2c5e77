"""Which language a patient writes in: English or Spanish, from the message itself.

Why lingua: it is built for short text (one to five words is common in chat and SMS), works
offline from its packaged models, and can be restricted to the languages the assistant
writes, so "tinc la cama adormida" (Catalan) counts as Spanish. When it is unsure (a number, an
emoji, "ok"), the hint wins: the conversation's language, else the clinic's default.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.nlu.text import strip_accents

logger = logging.getLogger(__name__)

# Below this confidence the hint (conversation or clinic language) is kept. One or two words
# say little: on the dev set's first words, lingua was never wrong on one word at >= 0.95 or
# on two words at >= 0.8, and never on three or more at >= 0.6 (scripts/bench_triage.py).
MINIMUM_CONFIDENCE = 0.6
MINIMUM_CONFIDENCE_BY_WORDS = {1: 0.95, 2: 0.8}
# Languages the assistant does not speak but reads as one it does: the Barcelona clinic's
# patients write some messages in Catalan ("moltes gràcies", "adéu"), which lingua, asked only
# about English and Spanish, called English mid-conversation. A message the detector calls
# English is checked once more against English and Catalan; clearly Catalan is answered in
# Spanish (the assistant has no Catalan texts). Catalan is not one of the main candidates:
# there, its confidence added to Spanish's made short English messages ("parking") Spanish.
READ_AS: Dict[str, str] = {"ca": "es"}
READ_AS_MINIMUM = 0.8  # English vs Catalan; on the 675 English dev messages none reaches it
# In a conversation already in the read-as target (Spanish), Catalan only has to lead English:
# "es al coll, les cervicals. i prenc xarelto" is Catalan 0.64 against English 0.36
READ_AS_CONTINUING_MINIMUM = 0.5
_LINGUA_NAMES = {"en": "ENGLISH", "es": "SPANISH", "ca": "CATALAN"}


class LazyLingua:
    """A lingua detector for some ISO 639-1 codes, built once on first use (thread-safe); None
    when lingua is missing or fails, so callers fall back instead of failing."""

    def __init__(self, codes: Sequence[str], preload: bool, name: str) -> None:
        self.codes = tuple(code for code in codes if code in _LINGUA_NAMES)
        self.preload = preload
        self.name = name  # which detector, in the one warning logged if it cannot be built
        self._detector: Any = None
        self._failed = False
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The detector, or None."""
        if self._detector is not None or self._failed or not self.codes:
            return self._detector
        with self._lock:
            if self._detector is None and not self._failed:
                try:
                    from lingua import Language, LanguageDetectorBuilder

                    builder = LanguageDetectorBuilder.from_languages(
                        *[getattr(Language, _LINGUA_NAMES[code]) for code in self.codes])
                    if self.preload:
                        builder = builder.with_preloaded_language_models()
                    self._detector = builder.build()
                except Exception:  # noqa: BLE001 - a missing detector must not stop triage
                    logger.warning("language detector unavailable (%s); the fallback stands",
                                   self.name)
                    self._failed = True
        return self._detector


def lingua_code(language: Any) -> str:
    """The ISO 639-1 code of a lingua Language ("" for one the assistant does not know)."""
    return next((c for c, name in _LINGUA_NAMES.items() if name == language.name), "")


class ReadAs:
    """English against the languages read as another one (lingua, built on first use)."""

    def __init__(self, languages: Sequence[str]) -> None:
        self.targets = {extra: target for extra, target in READ_AS.items() if target in languages}
        self._lingua = LazyLingua(("en", *self.targets) if self.targets else (), False,
                                  "read_as")

    def language(self, text: str, continuing: Optional[str] = None) -> Optional[Tuple[str, float]]:
        """(the language to answer in, confidence) for a message clearly in a read-as
        language, or leading English in a conversation already in its target (`continuing`);
        None otherwise (it stays English)."""
        detector = self._lingua.get()
        if detector is None:
            return None
        values = detector.compute_language_confidence_values(text)
        if not values:
            return None
        top = values[0]
        code = lingua_code(top.language)
        if code not in self.targets:
            return None
        minimum = READ_AS_CONTINUING_MINIMUM if continuing == self.targets[code] \
            else READ_AS_MINIMUM
        return (self.targets[code], float(top.value)) if float(top.value) >= minimum else None


# Explicit requests, matched on lower-case text without accents.
SWITCHES: Dict[str, Tuple[str, ...]] = {
    "en": (
        r"\b(?:in|speak|speaks|talk|write|reply|answer|continue|respond)(?: to me)?(?: in)?"
        r" english\b",
        r"\benglish (?:please|pls|plz|por favor)\b",
        r"\bingles (?:please|pls|plz|por favor)\b",
        r"\b(?:do|can) you (?:speak|do|understand) english\b",
        r"\b(?:en|hablame en|hableme en|hablar en|hablo|habla|hablas|escribe en|escribeme en)"
        r" ingles\b",
        r"^\W*(?:english|ingles)\W*$",
    ),
    "es": (
        r"\b(?:en|hablame en|hableme en|hablar en|escribe en|escribeme en)"
        r" (?:espanol|castellano)\b",
        r"\bcastellano\b",
        r"\b(?:espanol|castellano) (?:por favor|please|pls|plz)\b",
        r"\bhabl(?:o|a|as|an) (?:usted )?(?:espanol|castellano)\b",
        r"\b(?:in|speak|talk|write|reply|answer|continue)(?: to me)?(?: in)? spanish\b",
        r"\bspeak spanish\b",
        r"\bspanish (?:please|pls|plz)\b",
        r"\b(?:do|can) you (?:speak|do|understand) spanish\b",
        r"^\W*(?:espanol|spanish)\W*$",
    ),
}
# "no hablo inglés", "I don't speak Spanish": the patient wants the other language.
NEGATION = re.compile(r"\b(?:no|not|dont|don't|do not|cannot|can't|cant|nunca)\s+(?:\w+\s+){0,3}$")


_SWITCH_PATTERNS = {language: [re.compile(pattern) for pattern in patterns]
                    for language, patterns in SWITCHES.items()}


def requested_language(text: str, languages: Sequence[str]) -> Optional[Tuple[str, int, int]]:
    """An explicit request for one of `languages` ("English please", "en español"), with its
    offsets in `text` (the last one when there are several); a negated one ("no hablo inglés",
    "I don't speak Spanish") asks for the other language. The one reader of language
    requests: the safety gate decides the reply's language with it, and the NLU's
    LanguageTagger tags the same span."""
    # strip_accents keeps one character per character for Latin text, so offsets hold
    lowered = strip_accents(text.lower()).replace("\u2019", "'")
    if len(lowered) != len(text):
        lowered = lowered[: len(text)].ljust(len(text))
    hits: List[Tuple[int, int, str]] = [
        (match.start(), match.end(), language)
        for language in languages for pattern in _SWITCH_PATTERNS.get(language, ())
        for match in pattern.finditer(lowered)]
    if not hits:
        return None
    # the last request wins: "mi marido no lee bien el castellano. Can you answer in English
    # please?" asks for English (a message's context comes first, its request last); matches
    # that overlap ("en español", "español por favor") are one request, read as the first
    hits.sort()
    start, end, language = hits[0]
    group_end = end
    for hit_start, hit_end, hit_language in hits[1:]:
        if hit_start >= group_end:
            start, end, language = hit_start, hit_end, hit_language
        group_end = max(group_end, hit_end)
    if NEGATION.search(lowered[:start]) and len(languages) == 2:
        language = next(lang for lang in languages if lang != language)
    return language, start, end


@dataclass(frozen=True)
class Detected:
    """A language decision and where it came from ("lingua", "hint", "default")."""

    language: str
    source: str
    confidence: Optional[float] = None


class LanguageDetector:
    """lingua restricted to `languages` (ISO 639-1 codes it knows), models preloaded once."""

    def __init__(self, languages: Sequence[str] = ("en", "es"), default: str = "en",
                 minimum_confidence: Optional[float] = None,
                 ignored: Optional[re.Pattern[str]] = None) -> None:
        self.languages = tuple(languages)
        self.ignored = ignored  # words that tell no language (the KB's drug names)
        self.default = default
        self.minimum_confidence = minimum_confidence
        self.read_as = ReadAs(self.languages)
        self._detector = LazyLingua(self.languages, True, "triage")

    def _lingua(self) -> Any:
        return self._detector.get()

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
        if self.ignored is not None:
            text = self.ignored.sub(" ", text)
        detector = self._lingua()
        if detector is not None and any(c.isalpha() for c in text):
            values = detector.compute_language_confidence_values(text)
            if values:
                top = values[0]
                code = lingua_code(top.language)
                if code == "en":
                    read = self.read_as.language(text, continuing=fallback)
                    if read is not None:
                        return Detected(read[0], "lingua", read[1])
                if code in self.languages and top.value >= self._minimum(text):
                    return Detected(code, "lingua", float(top.value))
                if fallback is None and code in self.languages:
                    return Detected(code, "lingua", float(top.value))
        if fallback is not None:
            return Detected(fallback, "hint")
        return Detected(self.default, "default")
