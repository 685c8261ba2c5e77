"""The trained half of the triage: character and word n-grams and a linear model.

Why this model: the red-flag patterns miss phrasings nobody wrote down ("its all numb down
there", "ya no me entra el aire") and typos; a character n-gram TF-IDF (robust to typos,
missing accents and Catalan or English words in Spanish) plus word unigrams and bigrams, with
a one-vs-rest logistic regression (liblinear) over the triage *categories*, learns them from the
hand-written training messages (data/triage/<language>.yml) and ordinary preparation
questions (data/nlu, labelled routine). A level's probability is the sum of its categories',
so the category that wins inside a level names the KB flag (and its advice).

Why fitted at first use rather than a persisted artefact: it takes about 3 s on two cores
(seeded, deterministic), it can never be stale against the training files or the installed
scikit-learn (a pickle is tied to both, and loading one runs code), and the safety gate warms
it in a background thread at start-up while the patterns alone answer (`Triage.warm_up`).
The fitted model is kept in memory, one per process.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sparse
import yaml  # type: ignore[import-untyped]  # no stubs in the bot environment
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.safety.rules import LEVELS, normalise

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
TRAINING_FILES = (REPOSITORY / "data" / "triage" / "en.yml",
                  REPOSITORY / "data" / "triage" / "es.yml")
NLU_DIR = REPOSITORY / "data" / "nlu"
# Ordinary preparation questions and chit-chat: routine negatives. Intents that report
# symptoms or ask about them (report_emergency, report_illness, ask_recovery, ask_risks) and
# out_of_scope are left out: some of their examples are not routine.
# Every NLU intent is an ordinary (routine) message for the triage classifier except these,
# whose examples may describe symptoms; a new topic's examples become routine examples at once.
NLU_NOT_ROUTINE_INTENTS = frozenset({
    "report_illness", "report_emergency", "report_crisis", "report_urgent", "nlu_fallback",
})
SEED = 0
_ENTITY = re.compile(r"\[([^\]]+)\]\{[^}]*\}|\[([^\]]+)\]\([^)]*\)")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the data loads 10x faster


def _read_yaml(path: Path) -> Dict[str, Any]:
    return yaml.load(path.read_text("utf-8"), Loader=_LOADER) or {}  # noqa: S506 (safe loader)


@dataclass(frozen=True)
class Example:
    """One labelled training message."""

    text: str
    level: str
    category: str
    language: str = "en"


@dataclass(frozen=True)
class Scores:
    """The classifier's view of one message."""

    level_probabilities: Mapping[str, float]  # emergency, crisis, urgent, routine
    best_category: Mapping[str, Tuple[str, float]]  # level -> (category, probability)


def load_triage_examples(paths: Iterable[Path]) -> List[Example]:
    """Messages of the triage data files (formats.md "Triage set")."""
    examples = []
    for path in paths:
        document = _read_yaml(Path(path))
        for item in document.get("messages", []):
            examples.append(Example(str(item["text"]), str(item["level"]),
                                    str(item["category"]), str(item.get("language", "en"))))
    return examples


def load_nlu_routine_examples(directory: Path = NLU_DIR) -> List[Example]:
    """Examples of the routine intents in Rasa NLU files, entity markup removed."""
    examples: List[Example] = []
    for path in sorted(directory.rglob("*.yml")):
        language = "es" if "es" in path.relative_to(directory).parts[:-1] else "en"
        document = _read_yaml(path)
        for block in document.get("nlu", []) or []:
            if not isinstance(block, dict) or not block.get("intent") \
                    or block.get("intent") in NLU_NOT_ROUTINE_INTENTS:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if not line.startswith("- "):
                    continue
                text = _ENTITY.sub(lambda m: m.group(1) or m.group(2), line[2:]).strip()
                if text:
                    examples.append(Example(text, "routine", "other_question", language))
    return examples


def default_examples() -> List[Example]:
    """The shipped training data: data/triage/*.yml plus routine NLU questions."""
    return load_triage_examples(TRAINING_FILES) + load_nlu_routine_examples()


class TriageClassifier:
    """A fitted model; `scores(text)` gives level probabilities and each level's category."""

    def __init__(self, vectorizers: Sequence[TfidfVectorizer], model: LogisticRegression,
                 level_of: Mapping[str, str], fit_seconds: float = 0.0) -> None:
        self._vectorizers = tuple(vectorizers)
        self._model = model
        self._categories = [str(c) for c in model.classes_]
        # For one message at a time (the gate), skip scikit-learn's per-call validation:
        # the same TF-IDF and one-vs-rest logistic arithmetic on plain arrays (~0.3 ms).
        self._fast = [(v.build_analyzer(), v.vocabulary_, v.idf_.astype(np.float64))
                      for v in vectorizers]
        offsets = np.cumsum([0] + [len(v.vocabulary_) for v in vectorizers])
        self._offsets = [int(o) for o in offsets[:-1]]
        self._coef = np.ascontiguousarray(model.coef_.T, dtype=np.float64)  # features x classes
        self._intercept = np.asarray(model.intercept_, dtype=np.float64)
        self._level_of = dict(level_of)
        self._columns: Dict[str, List[int]] = {
            level: [i for i, c in enumerate(self._categories) if self._level_of[c] == level]
            for level in LEVELS
        }
        self.fit_seconds = fit_seconds

    @classmethod
    def fit(cls, examples: Sequence[Example], seed: int = SEED) -> TriageClassifier:
        """Fit on `examples` (deterministic for a given seed and data)."""
        started = time.perf_counter()
        level_of: Dict[str, str] = {}
        for example in examples:
            known = level_of.setdefault(example.category, example.level)
            if known != example.level:
                raise ValueError(f"category '{example.category}' is labelled both "
                                 f"'{known}' and '{example.level}'")
        vectorizers = (
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                            sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                            token_pattern=r"(?u)\b\w+\b", dtype=np.float32),
        )
        texts = [normalise(e.text) for e in examples]
        features = sparse.hstack([v.fit_transform(texts) for v in vectorizers]).tocsr()
        model = LogisticRegression(C=20.0, solver="liblinear", class_weight="balanced",
                                   random_state=seed)
        model.fit(features, [e.category for e in examples])
        elapsed = time.perf_counter() - started
        logger.info("triage classifier fitted on %d messages in %.1f s", len(examples), elapsed)
        return cls(vectorizers, model, level_of, elapsed)

    @property
    def categories(self) -> Tuple[str, ...]:
        """The categories the model knows."""
        return tuple(self._categories)

    def scores(self, text: str) -> Scores:
        """Level probabilities (sum of their categories) and the best category per level; in a
        message of several sentences an alarm level must also be found in one of them."""
        whole = self._summarise(self.probabilities(text))
        parts = sentences(text)
        if len(parts) < 2:
            return whole
        return localised(whole, [self._summarise(self.probabilities(p)) for p in parts])

    def probabilities(self, text: str) -> np.ndarray:
        """Per-category probabilities for one message (equal to predict_proba's row)."""
        normalised = normalise(text)
        logits = self._intercept.copy()
        for (analyzer, vocabulary, idf), offset in zip(self._fast, self._offsets, strict=False):
            counts: Dict[int, int] = {}
            for gram in analyzer(normalised):
                index = vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64,
                                               count=len(counts)))) * idf[indices]
            values /= np.sqrt(np.dot(values, values))
            logits += values @ self._coef[indices + offset]
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        return probabilities / probabilities.sum()

    def scores_many(self, texts: Sequence[str]) -> List[Scores]:
        """`scores` for many messages at once (benchmarks, threshold tuning)."""
        split = [sentences(t) for t in texts]
        flat = [*texts, *(p for parts in split if len(parts) >= 2 for p in parts)]
        normalised = [normalise(t) for t in flat]
        features = sparse.hstack([v.transform(normalised) for v in self._vectorizers]).tocsr()
        rows = [self._summarise(row) for row in self._model.predict_proba(features)]
        wholes, rest = rows[:len(texts)], iter(rows[len(texts):])
        out = []
        for whole, parts in zip(wholes, split, strict=True):
            if len(parts) < 2:
                out.append(whole)
            else:
                out.append(localised(whole, [next(rest) for _ in parts]))
        return out

    def _summarise(self, row: np.ndarray) -> Scores:
        levels: Dict[str, float] = {}
        best: Dict[str, Tuple[str, float]] = {}
        for level, columns in self._columns.items():
            levels[level] = float(sum(row[i] for i in columns))
            if columns:
                top = max(columns, key=lambda i: row[i])
                best[level] = (self._categories[top], float(row[top]))
        return Scores(levels, best)


# Sentences of a message, for `localised`: a long ordinary question ("my husband is taking me
# but has to be at work by 10, so how long does it all take") reached the emergency threshold
# as a whole although no sentence of it says anything alarming. Dev sets (eval/triage/dev*.yml
# and the NLU dev questions), classifier alone: the same recall (352/355, buried 54/54) and
# everyday false alarms 12 -> 9 of 1165 ("max" of the two raised them, sentences alone 11).
_SENTENCE_BREAK = re.compile(
    r"[.!?;\n]+|\s+(?:but|pero|also|tambien|también|and also|btw)\s+", re.IGNORECASE)
MIN_SENTENCE_WORDS = 3


def sentences(text: str) -> List[str]:
    """The parts of at least MIN_SENTENCE_WORDS words (one part: the message is scored whole)."""
    return [p.strip() for p in _SENTENCE_BREAK.split(text)
            if p and len(p.split()) >= MIN_SENTENCE_WORDS]


def localised(whole: Scores, parts: Sequence[Scores]) -> Scores:
    """An alarm level's probability is the lower of the whole message's and its most alarming
    sentence's; the best category per level is the most probable one anywhere."""
    levels = {level: (probability if level == "routine" else min(
        probability, max(p.level_probabilities.get(level, 0.0) for p in parts)))
        for level, probability in whole.level_probabilities.items()}
    best = {level: max([category, *(p.best_category[level] for p in parts
                                     if level in p.best_category)], key=lambda c: c[1])
            for level, category in whole.best_category.items()}
    return Scores(levels, best)


def decide(scores: Scores, thresholds: Mapping[str, float]) -> Tuple[str, Optional[str]]:
    """The most severe level whose probability reaches its threshold, and its category
    ("routine" and its best category when none does)."""
    for level in LEVELS[:-1]:
        threshold = thresholds.get(level)
        if threshold is not None and scores.level_probabilities.get(level, 0.0) >= threshold:
            return level, scores.best_category.get(level, (None, 0.0))[0]
    return "routine", scores.best_category.get("routine", (None, 0.0))[0]
