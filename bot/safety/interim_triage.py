"""Interim triage for the gate until the trained triage engine lands: the KB patterns only.

Why kept small: bot/safety/triage.py (patterns + a trained classifier, measured by
`make bench-triage`) replaces this module; until then the gate uses the same KB patterns the NLU
safety net uses, so the gate never depends on the dialogue.
"""

from __future__ import annotations

import re
from typing import Optional

from bot.nlu.red_flag_detector import RedFlagDetector
from bot.nlu.vocabulary import KbVocabulary, load_vocabulary
from bot.safety.gate import Verdict

_SEVERITY = ("emergency", "crisis", "urgent")


class PatternTriage:
    """Triage by the KB's red-flag patterns (negation and hypothetical aware)."""

    def __init__(self, vocabulary: Optional[KbVocabulary] = None) -> None:
        self.vocabulary = vocabulary or load_vocabulary()
        self.detector = RedFlagDetector(RedFlagDetector.get_default_config(), self.vocabulary)
        self.flags = {flag.id: flag for flag in self.vocabulary.red_flags}
        minimising = self.vocabulary.triage_cues.get("minimising", {})
        words = sorted({w for per in minimising.values() for w in per}, key=len, reverse=True)
        self._minimising = re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE
        ) if words else None

    def assess(self, text: str, language: Optional[str] = None) -> Verdict:
        """The most severe flag whose pattern the message affirms."""
        hits = [self.flags[h.red_flag_id] for h in self.detector.detect(text)
                if h.red_flag_id in self.flags]
        for level in _SEVERITY:
            for flag in hits:
                if flag.level == level:
                    return Verdict(level, flag.id, flag.category, language)
        return Verdict("routine", language=language)

    def minimises(self, text: str, language: Optional[str]) -> bool:
        """Whether the message plays a symptom down."""
        return bool(self._minimising and self._minimising.search(text))


class DefaultLanguages:
    """Interim: the clinic's default language (detection lands with bot/nlu/language.py)."""

    def decide(self, sender_id: str, text: str, default: str) -> str:
        """The clinic's default language."""
        return default
