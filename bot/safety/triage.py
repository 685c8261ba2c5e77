"""How urgent is this message? `Triage().assess(text, language)` -> a `Verdict`.

Levels (clinical-facts.md section 15, /work/staging/brief/triage.md): emergency (call the
emergency number now), crisis (thoughts of suicide or self-harm: the crisis line and the
emergency number), urgent (call the clinic today), routine (expected after-effects, questions).

Two detectors, the more severe wins:
- the KB's red-flag patterns (bot/generated/kb_vocabulary.json, bot/safety/rules.py), with
  negation and hypothetical cues scoped to their clause, so "no numbness" and "what if I get a
  fever?" do not fire but "not sure if this is normal but I can't feel my legs" does;
- a classifier trained on the triage training messages (bot/safety/classifier.py), allowed to
  raise a message to emergency, crisis or urgent only when that level's probability reaches
  its threshold. The thresholds were tuned for recall on the development set
  (eval/triage/dev.yml, `scripts/tune_triage.py`); the test sets are never used for tuning.

The classifier is fitted at first use (about 3-5 s on two cores; see classifier.py for why no
artefact is persisted) and shared by every `Triage` in the process. A gate calls
`warm_up()` at start-up, before the server takes messages (bot/runtime_guards.py); with
`wait_for_classifier=False`, a message that arrives while no fit is ready (the fit failed) is
triaged by the patterns alone. Once warm, `assess` takes about 1-2 ms (patterns,
classifier and language detection), well inside a gate's 5 ms budget.

Nothing here reads or logs message text beyond the call: `Verdict.reasons` names flags,
levels and scores only, so it can be logged and stored with an alert.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from bot.nlu.vocabulary import (
    DEFAULT_VOCABULARY_PATH,
    KbVocabulary,
    drug_name_pattern,
    load_vocabulary,
)
from bot.safety.classifier import Example, Scores, TriageClassifier, decide, default_examples
from bot.safety.language import LanguageDetector
from bot.safety.rules import LEVELS, SELF_HARM_CATEGORIES, SEVERITY, RuleMatcher

logger = logging.getLogger(__name__)

# Tuned on the dev sets eval/triage/dev.yml + dev3.yml (768 messages) with the whole detector
# (patterns + classifier; scripts/tune_triage.py and --misses), after the round-3 and round-4
# training data: emergency 0.40 / crisis 0.15 / urgent 0.45 catch 355/355 dev emergencies and
# crises, the crisis line on 98/98 crisis messages and 176/177 urgent, with 5/236 routine false
# alarms and 10/1165 on the ordinary questions of eval/nlu/dev*_*.yml (0.25-0.30 catch no more
# and answer "no fever" as an emergency; crisis 0.10: the same recall, 8/236 false alarms). The
# dev figures are optimistic (patterns were fixed from dev errors); bench/results/triage.json
# has the test-set figures. Urgent 0.30-0.50 route the same dev messages (the patterns find
# them); 0.45 keeps "my heart doctor says never stop Brilinta, I'm panicking" (0.32) routine.
DEFAULT_THRESHOLDS: Mapping[str, float] = {"emergency": 0.40, "crisis": 0.15, "urgent": 0.45}
# A crisis that only the classifier sees, below this probability and with no red-flag pattern,
# is tentative: the gate sends the crisis line and records the alert as for any crisis, then
# also answers what the patient asked (bot/safety/gate.py). The routine look-alikes the
# classifier catches ("can't sleep for thinking about it", "I live alone and nobody can drive
# me") scored 0.15-0.43 on the dev sets, but so did some real crises (dev5, before its patterns
# were fixed), so the crisis line always comes first: the full crisis reply, or its one-line
# form when the NLU reads a clear preparation question (never for a fear).
FIRM_CRISIS_PROBABILITY = 0.5
# The after-procedure urgent flags a patient can also have before the day ("temperature of 38
# and I'm booked in tomorrow", "me ha salido un herpes donde me van a pinchar"): before the
# procedure they are its illness flag, whose advice is that the procedure may need moving.
BEFORE_PROCEDURE_CATEGORIES = frozenset({"fever", "rash", "vomiting"})
PRE_PROCEDURE_CATEGORY = "pre_procedure_illness"
# When the patterns read a symptom as negated, hypothetical or wearing off ("no fever", "what if
# I can't pee?", "the numbness has gone") and found nothing else of its category, the classifier
# raises that same category only at this probability: its n-grams see "fever" but not the "no".
# Crisis categories are exempt (any self-harm signal keeps the crisis line).
OVERRULE_PROBABILITY = 0.6
# A numbness the patterns read as fading ("un poco dormida, pero cada vez menos") is denied for
# the saddle-numbness category too: the classifier's n-grams see "dormida" near "muslo" and
# guess bladder_bowel. A saddle or bladder report has patterns of its own, which still fire.
RELATED_DENIALS: Mapping[str, frozenset[str]] = {"weakness_numbness": frozenset({"bladder_bowel"})}
# The classifier alone reading an emergency into a question about what might happen ("puede
# dañar los nervios de las piernas", "my pain goes down to my foot, will this work for me"):
# with no red-flag pattern in the message, it needs OVERRULE_PROBABILITY. Dev sets
# (eval/triage/dev*.yml, eval/nlu/dev*): 3 ordinary questions answered as routine, no
# emergency or crisis lost. A reported symptom inside the question still has its pattern.
# Before the procedure, a fever the patterns read as the pre-procedure illness flag is not
# raised to an infection after the procedure on the classifier's word alone (same probability):
# "estoy con un resfriado y algo de fiebre, tengo la rf el jueves". Fever with a stiff neck,
# confusion or severe back pain has patterns of its own (red_flag.meningism), which still fire.
PRE_PROCEDURE_UNLIKELY = frozenset({"meningism_infection"})


@dataclass(frozen=True)
class Verdict:
    """The triage of one message."""

    level: str  # emergency | crisis | urgent | routine
    flag_id: Optional[str]  # the KB red flag whose advice to show (None when routine)
    category: Optional[str]  # triage category (brief/triage.md)
    language: str  # en | es: the language to answer in
    reasons: Tuple[str, ...] = ()  # what decided it (flag ids, levels, scores; never text)
    flags: Tuple[str, ...] = field(default=())  # every flag that supports the verdict
    self_harm: bool = False  # one of those flags is a suicide or self-harm one
    crisis_probability: float = 0.0  # the classifier's; the gate is more watchful after a crisis
    tentative: bool = False  # crisis from the classifier alone, below FIRM_CRISIS_PROBABILITY

    @property
    def shows_crisis_line(self) -> bool:
        """Crisis, or an emergency with a self-harm flag: the reply gives the crisis line."""
        return self.level == "crisis" or (self.level == "emergency" and self.self_harm)

    @property
    def needs_alert(self) -> bool:
        """Emergency, crisis and urgent detections are recorded for staff."""
        return self.level != "routine"


_SHARED: Dict[str, TriageClassifier] = {}
_SHARED_LOCK = threading.Lock()
_FAILED: Dict[str, bool] = {}


def shared_classifier(key: str = "default",
                      examples: Optional[Callable[[], Sequence[Example]]] = None
                      ) -> Optional[TriageClassifier]:
    """The process's classifier for `key`, fitted on first call (None if it cannot be)."""
    model = _SHARED.get(key)
    if model is not None or _FAILED.get(key):
        return model
    with _SHARED_LOCK:
        model = _SHARED.get(key)
        if model is None and not _FAILED.get(key):
            try:
                model = TriageClassifier.fit((examples or default_examples)())
                _SHARED[key] = model
            except Exception:  # noqa: BLE001 - the patterns must keep working without it
                logger.exception("triage classifier could not be fitted; patterns only")
                _FAILED[key] = True
    return model


class Triage:
    """Patterns + classifier + language detection; thread-safe, reuse one per process."""

    def __init__(
        self,
        vocabulary: Union[KbVocabulary, str, Path, None] = None,
        *,
        use_rules: bool = True,
        use_classifier: bool = True,
        thresholds: Optional[Mapping[str, float]] = None,
        examples: Optional[Callable[[], Sequence[Example]]] = None,
        classifier_key: str = "default",
        wait_for_classifier: bool = True,
        language_detector: Optional[LanguageDetector] = None,
        default_language: str = "en",
    ) -> None:
        if not isinstance(vocabulary, KbVocabulary):
            vocabulary = load_vocabulary(vocabulary or DEFAULT_VOCABULARY_PATH)
        self.vocabulary = vocabulary
        self.rules = RuleMatcher(vocabulary)
        self._self_harm_flags = frozenset(f.id for f in vocabulary.red_flags
                                          if f.category in SELF_HARM_CATEGORIES)
        self.use_rules = use_rules
        self.use_classifier = use_classifier
        self.thresholds = dict(thresholds or DEFAULT_THRESHOLDS)
        self._examples = examples
        self._classifier_key = classifier_key
        self.wait_for_classifier = wait_for_classifier
        languages = tuple(vocabulary.languages) or ("en",)
        self.languages = languages
        self.default_language = default_language if default_language in languages else "en"
        self.detector = language_detector or LanguageDetector(
            languages, self.default_language, ignored=drug_name_pattern(vocabulary))

    # -------------------------------------------------------------------------------- setup
    def warm_up(self, background: bool = False) -> Optional[threading.Thread]:
        """Fit the classifier and load the language models now (in a thread if asked)."""
        def work() -> None:
            self.detector.warm_up()
            if self.use_classifier:
                shared_classifier(self._classifier_key, self._examples)

        if not background:
            work()
            return None
        thread = threading.Thread(target=work, name="triage-warm-up", daemon=True)
        thread.start()
        return thread

    def _classifier(self) -> Optional[TriageClassifier]:
        if not self.use_classifier:
            return None
        model = _SHARED.get(self._classifier_key)
        if model is None and self.wait_for_classifier:
            model = shared_classifier(self._classifier_key, self._examples)
        return model

    # ------------------------------------------------------------------------------ triage
    def assess(self, text: str, language: Optional[str] = None) -> Verdict:
        """Triage one message; `language` is the hint (conversation or clinic language)."""
        model = self._classifier()
        scores = model.scores(text) if model is not None else None
        return self._verdict(text, language, scores, classifier_missing=(
            self.use_classifier and model is None))

    def assess_many(self, texts: Sequence[str],
                    languages: Optional[Sequence[Optional[str]]] = None) -> List[Verdict]:
        """`assess` for many messages (the classifier scores them in one batch)."""
        hints = list(languages) if languages is not None else [None] * len(texts)
        model = self._classifier()
        all_scores: List[Optional[Scores]] = [None] * len(texts)
        if model is not None and texts:
            all_scores = list(model.scores_many(texts))
        return [self._verdict(t, h, s, self.use_classifier and model is None)
                for t, h, s in zip(texts, hints, all_scores, strict=True)]

    def is_minimising(self, text: str) -> bool:
        """The patient plays a symptom down ("can I just wait and see?"): after an emergency
        reply, the gate repeats it firmly (triage.repeat)."""
        return self.rules.minimising(text)

    def _unlikely_emergency(self, text: str, pattern_hits: int, level: str,
                            category: Optional[str], raised_category: Optional[str]) -> bool:
        """A classifier-only emergency below OVERRULE_PROBABILITY that the message's own words
        explain otherwise (see PRE_PROCEDURE_UNLIKELY): a question about what might happen, or
        a fever before the procedure."""
        if not self.use_rules:
            return False
        if pattern_hits == 0:
            return self.rules.asks_hypothetically(text)
        return (level == "urgent"
                and (category in BEFORE_PROCEDURE_CATEGORIES or category == PRE_PROCEDURE_CATEGORY)
                and raised_category in PRE_PROCEDURE_UNLIKELY
                and self.rules.before_the_procedure(text))

    def _verdict(self, text: str, hint: Optional[str], scores: Optional[Scores],
                 classifier_missing: bool) -> Verdict:
        detected = self.detector.detect(text, hint or self.default_language)
        reasons: List[str] = [f"language:{detected.language}:{detected.source}"]
        level: str = "routine"
        pattern_hits = 0
        flag_id: Optional[str] = None
        category: Optional[str] = None
        flags: List[str] = []
        denied: set[str] = set()  # categories the patterns read as negated/hypothetical/gone

        if self.use_rules:
            result = self.rules.match(text)
            for suppressed_id, why in result.suppressed:
                reasons.append(f"pattern-{why}:{suppressed_id}")
                denied.add(self.rules.category_of(suppressed_id))
            for category in list(denied):
                denied |= RELATED_DENIALS.get(category, frozenset())
            denied -= {hit.category for hit in result.hits}
            pattern_hits = len(result.hits)
            for hit in result.hits:
                reasons.append(f"pattern:{hit.flag_id}:{hit.level}"
                               + (f":from:{hit.downgraded_from}" if hit.downgraded_from else ""))
                flags.append(hit.flag_id)
            if result.top is not None:
                level, flag_id, category = (result.top.level, result.top.flag_id,
                                            result.top.category)

        if classifier_missing:
            reasons.append("classifier:unavailable")
        if scores is not None:
            raised, raised_category = decide(scores, self.thresholds)
            probability = scores.level_probabilities.get(raised, 0.0)
            reasons.append(f"classifier:{raised}:{probability:.2f}:{raised_category}")
            crisis_p = scores.level_probabilities.get("crisis", 0.0)
            if raised != "crisis" and crisis_p >= self.thresholds.get("crisis", 1.0):
                # Also a self-harm signal: keep the crisis line whatever the level.
                crisis_category = scores.best_category.get("crisis", ("", 0.0))[0]
                crisis_flag = self.rules.flag_for_category(crisis_category)
                if crisis_flag is not None:
                    flags.append(crisis_flag.id)
            denied_here = raised_category in denied and raised_category not in \
                SELF_HARM_CATEGORIES
            weak = probability < OVERRULE_PROBABILITY
            unlikely = weak and raised == "emergency" and self._unlikely_emergency(
                text, pattern_hits, level, category, raised_category)
            if (denied_here or unlikely) and weak:
                reasons.append(f"classifier-overruled:{raised_category}")
            elif SEVERITY[raised] > SEVERITY[level] and raised_category:
                raised_flag = self.rules.flag_for_category(raised_category)
                level, category = raised, raised_category
                flag_id = raised_flag.id if raised_flag is not None else None
                if flag_id:
                    flags.insert(0, flag_id)

        if (level == "urgent" and category in BEFORE_PROCEDURE_CATEGORIES
                and self.use_rules and self.rules.before_the_procedure(text)):
            before = self.rules.flag_for_category(PRE_PROCEDURE_CATEGORY)
            if before is not None:
                reasons.append(f"before-procedure:{category}")
                flag_id, category = before.id, PRE_PROCEDURE_CATEGORY
                flags.insert(0, before.id)
        if level == "routine":
            flag_id = None
            category = category if scores is None else scores.best_category.get(
                "routine", (None, 0.0))[0]
        unique = tuple(dict.fromkeys(f for f in flags if f))
        self_harm = level != "routine" and (
            category in SELF_HARM_CATEGORIES or any(f in self._self_harm_flags for f in unique))
        crisis_probability = scores.level_probabilities.get("crisis", 0.0) if scores else 0.0
        tentative = (level == "crisis" and pattern_hits == 0
                     and crisis_probability < FIRM_CRISIS_PROBABILITY)
        if tentative:
            reasons.append("crisis:tentative")
        return Verdict(level, flag_id, category, detected.language, tuple(reasons), unique,
                       self_harm, round(float(crisis_probability), 4), tentative)


__all__ = ["DEFAULT_THRESHOLDS", "FIRM_CRISIS_PROBABILITY", "LEVELS", "Triage", "Verdict",
           "shared_classifier"]
