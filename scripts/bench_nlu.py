"""NLU benchmark: seeded, stratified k-fold cross-validation of the whole NLU pipeline.

`make bench-nlu` runs this with the Rasa environment (.venv/bot). For each fold an NLU model is
trained from config.yml with `rasa.model_training.train_nlu` into a temporary directory, loaded
with `Agent.load` and asked to parse every held-out example, exactly like the server does: the
prediction is taken after the whole pipeline (DIET, PrepEntityExtractor, RedFlagDetector and
FallbackClassifier). Rasa's own `rasa.nlu.test.cross_validate` is not used because its
`generate_folds` shuffles without a seed and it only keeps aggregate reports.

Writes bench/results/<UTC date>-<machine>-nlu.json (every figure, machine-readable, with the
date, machine and git commit; bench/run_info.py) and the .md beside it (a summary for people).
Both are committed: the README and config.yml quote them. The targets (intent accuracy >= 0.95,
report_emergency recall 1.0) are reported, never asserted: the exit code is 0 whenever the
benchmark ran.

The metric functions at the top are pure (no Rasa import) so tests/bot/test_bench_nlu.py can
unit-test them in milliseconds.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = "config.yml"
DEFAULT_DATA = "data/nlu"
DEFAULT_FOLDS = 5
DEFAULT_SEED = 42

FALLBACK_INTENT = "nlu_fallback"
EMERGENCY_INTENT = "report_emergency"
MEDICATION_ENTITY = "medication"
SITE_ENTITY = "procedure_site"
RED_FLAG_ENTITY = "red_flag"

# Benchmark targets: reported as met / not met, never asserted.
TARGET_INTENT_ACCURACY = 0.95
TARGET_EMERGENCY_RECALL = 1.0

# FallbackClassifier thresholds swept: 0.30, 0.35, ..., 0.70.
SWEEP_THRESHOLDS: Tuple[float, ...] = tuple(round(0.30 + 0.05 * step, 2) for step in range(9))
# Ambiguity thresholds shown for the recommended threshold (the main sweep uses config.yml's).
SWEEP_AMBIGUITY: Tuple[float, ...] = (0.0, 0.05, 0.1, 0.15)
# Threshold choice: a wrong confident answer (the bot answers a question the patient did not
# ask) costs WRONG_ANSWER_COST times a fallback ("sorry, could you rephrase?"), and more than
# MAX_FALLBACK_RATE of messages falling back is not a reasonable experience.
WRONG_ANSWER_COST = 3.0
MAX_FALLBACK_RATE = 0.10

TOP_CONFUSIONS = 15
EXAMPLES_PER_CONFUSION = 3

Entity = Mapping[str, Any]
Ranking = List[Tuple[str, float]]

logger = logging.getLogger("bench_nlu")


# --------------------------------------------------------------------------- pure metrics


@dataclass
class ExampleResult:
    """One held-out example: gold annotation and the pipeline's prediction."""

    fold: int
    text: str
    gold_intent: str
    predicted_intent: str
    confidence: float
    # intents as ranked before FallbackClassifier (nlu_fallback removed), best first
    ranking: Ranking = field(default_factory=list)
    gold_entities: List[Dict[str, Any]] = field(default_factory=list)
    predicted_entities: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def red_flag(self) -> bool:
        """Whether RedFlagDetector fired (it tags each red flag as a `red_flag` entity)."""
        return any(e.get("entity") == RED_FLAG_ENTITY for e in self.predicted_entities)


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0.0 when the denominator is 0 (sklearn's zero_division=0)."""
    return numerator / denominator if denominator else 0.0


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall (0.0 when both are 0)."""
    return safe_ratio(2 * precision * recall, precision + recall)


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of examples whose predicted label equals the gold label."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must have the same length")
    return safe_ratio(sum(g == p for g, p in zip(gold, predicted, strict=True)), len(gold))


def per_label_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Optional[Iterable[str]] = None
) -> Dict[str, Dict[str, float]]:
    """Precision, recall, F1 and support for each label (default: every gold label).

    A prediction of a label that never occurs in gold (e.g. nlu_fallback) counts as a false
    negative of the gold label and is not scored itself unless listed in `labels`.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must have the same length")
    scores: Dict[str, Dict[str, float]] = {}
    for label in sorted(set(gold) if labels is None else set(labels)):
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision, recall = safe_ratio(tp, tp + fp), safe_ratio(tp, tp + fn)
        scores[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1_score(precision, recall),
            "support": tp + fn,
        }
    return scores


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Unweighted mean of the per-label F1 over the labels that occur in gold."""
    scores = per_label_scores(gold, predicted)
    return safe_ratio(sum(s["f1"] for s in scores.values()), len(scores))


def confusion_pairs(
    gold: Sequence[str], predicted: Sequence[str], top: Optional[int] = None
) -> List[Tuple[str, str, int]]:
    """(gold, predicted, count) for every mistake, most frequent first, ties by name."""
    counts = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(g, p, n) for (g, p), n in ordered[:top]]


def _entity_keys(entities: Iterable[Entity], entity_type: str, mode: str) -> Counter[Any]:
    """Match keys of the entities of one type: (start, end, value) or the value alone."""
    keys: Counter[Any] = Counter()
    for entity in entities:
        if entity.get("entity") != entity_type:
            continue
        value = str(entity.get("value", "")).casefold()
        if mode == "span":
            keys[(int(entity["start"]), int(entity["end"]), value)] += 1
        elif mode == "value":
            keys[value] += 1
        else:
            raise ValueError(f"unknown entity match mode {mode!r}")
    return keys


def entity_scores(
    gold: Sequence[Iterable[Entity]],
    predicted: Sequence[Iterable[Entity]],
    entity_type: str,
    mode: str = "span",
) -> Dict[str, float]:
    """Micro precision/recall/F1 of one entity type over aligned examples.

    mode "span": an entity is correct when start, end and value (case-insensitive) all match.
    mode "value": only the values are compared, as a multiset per example.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must have the same length")
    tp = fp = fn = 0
    for gold_entities, predicted_entities in zip(gold, predicted, strict=True):
        gold_keys = _entity_keys(gold_entities, entity_type, mode)
        predicted_keys = _entity_keys(predicted_entities, entity_type, mode)
        matched = sum((gold_keys & predicted_keys).values())
        tp += matched
        fp += sum(predicted_keys.values()) - matched
        fn += sum(gold_keys.values()) - matched
    precision, recall = safe_ratio(tp, tp + fp), safe_ratio(tp, tp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_score(precision, recall),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def would_fall_back(ranking: Ranking, threshold: float, ambiguity_threshold: float) -> bool:
    """FallbackClassifier's rule on the ranking it receives (nlu_fallback not in it).

    Falls back when the top confidence is below `threshold`, or when the top two intents are
    closer than `ambiguity_threshold` (rasa/nlu/classifiers/fallback_classifier.py).
    """
    if not ranking:
        return True
    top = ranking[0][1]
    if top < threshold:
        return True
    return len(ranking) >= 2 and top - ranking[1][1] < ambiguity_threshold


def threshold_sweep(
    gold: Sequence[str],
    rankings: Sequence[Ranking],
    thresholds: Iterable[float],
    ambiguity_threshold: float,
    emergency_intent: str = EMERGENCY_INTENT,
    suggestions: int = 3,
) -> List[Dict[str, float]]:
    """What FallbackClassifier would give at each threshold, from the pre-fallback rankings.

    A fallback is "safe but unhelpful", so for every threshold this reports the share of all
    examples answered correctly (`correct_rate`), answered wrongly with confidence
    (`wrong_confident_rate`) and sent to fallback (`fallback_rate`); they sum to 1.
    `accuracy_when_answered` is correct / answered; `emergency_recall` counts an emergency sent
    to fallback as missed. `fallback_top3_rate` is the share of all examples that fell back
    with the gold intent among the first `suggestions` of the ranking (action_handle_fallback
    offers those as "did you mean" buttons).
    """
    if len(gold) != len(rankings):
        raise ValueError("gold and rankings must have the same length")
    rows: List[Dict[str, float]] = []
    emergencies = sum(g == emergency_intent for g in gold)
    for threshold in thresholds:
        correct = wrong = fallback = in_suggestions = emergency_hits = 0
        for gold_intent, ranking in zip(gold, rankings, strict=True):
            if would_fall_back(ranking, threshold, ambiguity_threshold):
                fallback += 1
                in_suggestions += gold_intent in [name for name, _ in ranking[:suggestions]]
            elif ranking[0][0] == gold_intent:
                correct += 1
                emergency_hits += gold_intent == emergency_intent
            else:
                wrong += 1
        total = len(gold)
        rows.append(
            {
                "threshold": round(float(threshold), 4),
                "ambiguity_threshold": float(ambiguity_threshold),
                "correct_rate": safe_ratio(correct, total),
                "wrong_confident_rate": safe_ratio(wrong, total),
                "fallback_rate": safe_ratio(fallback, total),
                "fallback_top3_rate": safe_ratio(in_suggestions, total),
                "accuracy_when_answered": safe_ratio(correct, correct + wrong),
                "emergency_recall": safe_ratio(emergency_hits, emergencies),
                "correct": correct,
                "wrong_confident": wrong,
                "fallback": fallback,
            }
        )
    return rows


def sweep_cost(row: Mapping[str, float], wrong_answer_cost: float = WRONG_ANSWER_COST) -> float:
    """Expected cost per message: a wrong confident answer weighs `wrong_answer_cost` fallbacks."""
    return wrong_answer_cost * row["wrong_confident_rate"] + row["fallback_rate"]


def recommend_threshold(
    rows: Sequence[Mapping[str, float]],
    max_fallback_rate: float = MAX_FALLBACK_RATE,
    wrong_answer_cost: float = WRONG_ANSWER_COST,
) -> Dict[str, Any]:
    """The sweep row to configure, plus `fallback_cap_met` and its `cost`.

    The rows may come from one ambiguity threshold or several (a grid).

    1. Safety first: only rows with the best emergency recall of the sweep (an emergency that
       falls back gets "could you rephrase", not the emergency instruction).
    2. Of those, the rows with a fallback rate <= `max_fallback_rate`, if there are any.
    3. The lowest `sweep_cost` wins; ties go to the lower threshold (fewer fallbacks), then to
       the lower ambiguity threshold.
    """
    if not rows:
        raise ValueError("empty sweep")
    best_recall = max(row["emergency_recall"] for row in rows)
    safe = [row for row in rows if row["emergency_recall"] >= best_recall - 1e-12]
    capped = [row for row in safe if row["fallback_rate"] <= max_fallback_rate]
    best = min(
        capped or safe,
        key=lambda row: (
            round(sweep_cost(row, wrong_answer_cost), 9),
            row["threshold"],
            row.get("ambiguity_threshold", 0.0),
        ),
    )
    return {
        **best,
        "cost": sweep_cost(best, wrong_answer_cost),
        "fallback_cap_met": bool(capped),
    }


def calibration(
    gold: Sequence[str], rankings: Sequence[Ranking], bins: int = 10
) -> List[Dict[str, float]]:
    """Accuracy of the top intent per confidence bucket (empty buckets left out)."""
    counts = [[0, 0] for _ in range(bins)]
    for gold_intent, ranking in zip(gold, rankings, strict=True):
        if not ranking:
            continue
        bucket = min(int(ranking[0][1] * bins), bins - 1)
        counts[bucket][0] += 1
        counts[bucket][1] += ranking[0][0] == gold_intent
    return [
        {
            "from": bucket / bins,
            "to": (bucket + 1) / bins,
            "examples": n,
            "accuracy": safe_ratio(hits, n),
        }
        for bucket, (n, hits) in enumerate(counts)
        if n
    ]


# --------------------------------------------------------------------------- the Rasa part


def configure_environment(cache_dir: Path) -> None:
    """Quiet TensorFlow/Rasa, no telemetry, Rasa's training cache out of the work tree."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["RASA_CACHE_DIRECTORY"] = str(cache_dir)
    for name in ("rasa", "tensorflow", "absl", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)
    quiet_warnings()


def quiet_warnings() -> None:
    """Hides library deprecation warnings (re-applied: some imports reset the filters)."""
    warnings.simplefilter("ignore")


def quiet_rasa_logs() -> None:
    """Rasa's structlog prints every parsed message at debug level unless configured."""
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


def data_fingerprint(paths: Iterable[Path]) -> str:
    """sha256 over the names and contents of the files (which data version was measured)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        if path.is_file():
            digest.update(str(path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_examples(data_path: str) -> Any:
    """The NLU training data (rasa's loader: every YAML file under data_path, lookups too)."""
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(data_path)


def fallback_settings(config_path: str) -> Dict[str, float]:
    """FallbackClassifier's threshold and ambiguity_threshold from the config file."""
    from rasa.shared.utils.io import read_yaml_file

    config = read_yaml_file(config_path)
    for component in config.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return {
                "threshold": float(component.get("threshold", 0.3)),
                "ambiguity_threshold": float(component.get("ambiguity_threshold", 0.1)),
            }
    raise SystemExit(f"{config_path}: no FallbackClassifier in the pipeline")


def stratified_folds(labels: Sequence[str], n_folds: int, seed: int) -> List[List[int]]:
    """Indices of the held-out examples of each fold (seeded sklearn StratifiedKFold)."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [list(test) for _, test in splitter.split(list(labels), list(labels))]


def subset(training_data: Any, examples: List[Any]) -> Any:
    """A TrainingData with these examples and all the synonyms, regexes and lookup tables."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    return TrainingData(
        training_examples=examples,
        entity_synonyms=training_data.entity_synonyms,
        regex_features=training_data.regex_features,
        lookup_tables=training_data.lookup_tables,
        responses=training_data.responses,
    )


def train_fold(config_path: str, train_data: Any, work_dir: Path, fold: int) -> Tuple[str, float]:
    """Trains the NLU model of one fold; returns the model archive and the training seconds."""
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    data_file = work_dir / f"fold{fold}_train.yml"
    RasaYAMLWriter().dump(data_file, train_data)
    quiet_warnings()
    started = time.perf_counter()
    model = train_nlu(config_path, str(data_file), str(work_dir), fixed_model_name=f"fold{fold}")
    seconds = time.perf_counter() - started
    if not model:
        raise SystemExit(f"fold {fold}: training failed")
    return model, seconds


async def predict_fold(model_path: str, examples: List[Any], fold: int) -> List[ExampleResult]:
    """Parses each held-out example with the trained model, like the server does."""
    from rasa.core.agent import Agent

    quiet_warnings()
    agent = Agent.load(model_path)
    results = []
    for example in examples:
        parsed = await agent.parse_message(example.get("text"))
        ranking = [
            (str(item["name"]), float(item["confidence"]))
            for item in parsed.get("intent_ranking") or []
            if item.get("name") != FALLBACK_INTENT
        ]
        intent = parsed.get("intent") or {}
        results.append(
            ExampleResult(
                fold=fold,
                text=example.get("text"),
                gold_intent=example.get("intent"),
                predicted_intent=str(intent.get("name")),
                confidence=float(intent.get("confidence") or 0.0),
                ranking=ranking,
                gold_entities=[_plain_entity(e) for e in example.get("entities") or []],
                predicted_entities=[_plain_entity(e) for e in parsed.get("entities") or []],
            )
        )
    return results


def _plain_entity(entity: Mapping[str, Any]) -> Dict[str, Any]:
    keys = ("entity", "start", "end", "value", "extractor")
    return {key: entity[key] for key in keys if key in entity}


def run_cross_validation(
    config_path: str, data_path: str, n_folds: int, seed: int
) -> Tuple[List[ExampleResult], List[Dict[str, Any]]]:
    """Trains and evaluates every fold; returns the per-example results and per-fold facts."""
    training_data = load_examples(data_path)
    examples = training_data.intent_examples
    labels = [example.get("intent") for example in examples]
    folds = stratified_folds(labels, n_folds, seed)
    results: List[ExampleResult] = []
    fold_facts: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_nlu_") as tmp:
        work_dir = Path(tmp)
        for fold, test_indices in enumerate(folds, start=1):
            held_out = set(test_indices)
            train = [example for i, example in enumerate(examples) if i not in held_out]
            test = [examples[i] for i in test_indices]
            print(
                f"fold {fold}/{n_folds}: training on {len(train)}, testing {len(test)}", flush=True
            )
            model, seconds = train_fold(config_path, subset(training_data, train), work_dir, fold)
            fold_results = asyncio.run(predict_fold(model, test, fold))
            Path(model).unlink(missing_ok=True)
            fold_accuracy = accuracy(
                [r.gold_intent for r in fold_results], [r.predicted_intent for r in fold_results]
            )
            print(
                f"fold {fold}/{n_folds}: trained in {seconds:.1f} s, "
                f"intent accuracy {fold_accuracy:.3f}",
                flush=True,
            )
            results.extend(fold_results)
            fold_facts.append(
                {
                    "fold": fold,
                    "train_examples": len(train),
                    "test_examples": len(test),
                    "training_seconds": round(seconds, 2),
                    "intent_accuracy": fold_accuracy,
                }
            )
    return results, fold_facts


# --------------------------------------------------------------------------- report


def summarise(
    results: Sequence[ExampleResult],
    fallback: Mapping[str, float],
) -> Dict[str, Any]:
    """Every figure of the benchmark, computed from the per-example results."""
    gold = [r.gold_intent for r in results]
    predicted = [r.predicted_intent for r in results]
    rankings = [r.ranking for r in results]
    gold_entities = [r.gold_entities for r in results]
    predicted_entities = [r.predicted_entities for r in results]
    per_intent = per_label_scores(gold, predicted)
    emergency = per_intent.get(EMERGENCY_INTENT, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
    answered = [(g, p) for g, p in zip(gold, predicted, strict=True) if p != FALLBACK_INTENT]

    sweep = threshold_sweep(gold, rankings, SWEEP_THRESHOLDS, fallback["ambiguity_threshold"])
    ambiguities = sorted({*SWEEP_AMBIGUITY, fallback["ambiguity_threshold"]})
    grid = [
        row
        for ambiguity in ambiguities
        for row in threshold_sweep(gold, rankings, SWEEP_THRESHOLDS, ambiguity)
    ]
    # the threshold is chosen on the sweep at the configured ambiguity threshold; the grid only
    # shows whether another ambiguity threshold would clearly do better (one emergency more or
    # less is within run-to-run noise)
    recommended = recommend_threshold(sweep)
    replay = [
        FALLBACK_INTENT
        if would_fall_back(r.ranking, fallback["threshold"], fallback["ambiguity_threshold"])
        else r.ranking[0][0]
        for r in results
    ]

    top_intents = [r.ranking[0][0] if r.ranking else FALLBACK_INTENT for r in results]

    def example_view(r: ExampleResult) -> Dict[str, Any]:
        return {
            "fold": r.fold,
            "text": r.text,
            "gold": r.gold_intent,
            "predicted": r.predicted_intent,
            "confidence": round(r.confidence, 4),
            "ranking": [[name, round(conf, 4)] for name, conf in r.ranking[:3]],
            "red_flag": r.red_flag,
        }

    emergencies = [r for r in results if r.gold_intent == EMERGENCY_INTENT]
    return {
        "examples": len(results),
        "intents": len(per_intent),
        "intent_accuracy": accuracy(gold, predicted),
        "intent_accuracy_when_answered": safe_ratio(
            sum(g == p for g, p in answered), len(answered)
        ),
        "macro_f1": macro_f1(gold, predicted),
        # the top intent before FallbackClassifier (DIET, overridden by RedFlagDetector)
        "top1_accuracy_before_fallback": accuracy(gold, top_intents),
        "top3_accuracy_before_fallback": safe_ratio(
            sum(r.gold_intent in [name for name, _ in r.ranking[:3]] for r in results),
            len(results),
        ),
        "macro_f1_before_fallback": macro_f1(gold, top_intents),
        "report_emergency": {
            "recall": emergency["recall"],
            "precision": emergency["precision"],
            "f1": emergency["f1"],
            "support": len(emergencies),
            "caught_by_red_flag_detector": sum(r.red_flag for r in emergencies),
            "caught_by_diet_only": sum(
                r.predicted_intent == EMERGENCY_INTENT and not r.red_flag for r in emergencies
            ),
        },
        "medication_entity": {
            "span_and_value": entity_scores(gold_entities, predicted_entities, MEDICATION_ENTITY),
            "value_only": entity_scores(
                gold_entities, predicted_entities, MEDICATION_ENTITY, mode="value"
            ),
        },
        "procedure_site_entity": {
            "span_and_value": entity_scores(gold_entities, predicted_entities, SITE_ENTITY),
            "value_only": entity_scores(
                gold_entities, predicted_entities, SITE_ENTITY, mode="value"
            ),
        },
        "nlu_fallback_rate": safe_ratio(predicted.count(FALLBACK_INTENT), len(predicted)),
        "per_intent": per_intent,
        "confusion_pairs": _confusions(results, gold, predicted),
        "confusion_pairs_before_fallback": _confusions(results, gold, top_intents),
        "calibration": calibration(gold, rankings),
        "missed_report_emergency": [
            example_view(r) for r in emergencies if r.predicted_intent != EMERGENCY_INTENT
        ],
        "false_report_emergency": [
            example_view(r)
            for r in results
            if r.predicted_intent == EMERGENCY_INTENT and r.gold_intent != EMERGENCY_INTENT
        ],
        "medication_entity_errors": _entity_errors(results, MEDICATION_ENTITY),
        "fallback_examples": [
            example_view(r) for r in results if r.predicted_intent == FALLBACK_INTENT
        ],
        "threshold_sweep": {
            "configured": dict(fallback),
            "rows": sweep,
            # the same sweep for several ambiguity thresholds (for information)
            "grid": grid,
            "rule": (
                "on the sweep at the configured ambiguity threshold: keep the thresholds with "
                "the best report_emergency recall (safety first: an emergency that falls back "
                "gets 'could you rephrase', not the emergency instruction); then prefer a "
                f"fallback rate <= {MAX_FALLBACK_RATE:.0%} if any threshold achieves it; then "
                f"minimise {WRONG_ANSWER_COST:g} x wrong_confident_rate + fallback_rate (ties: "
                "lower threshold)"
            ),
            "recommended": recommended,
            # the sweep's fallback rule replayed at the configured values must reproduce the
            # pipeline's own nlu_fallback decisions; mismatches would mean the sweep is wrong
            "replay_mismatches": sum(p != q for p, q in zip(predicted, replay, strict=True)),
        },
    }


def _confusions(
    results: Sequence[ExampleResult], gold: Sequence[str], predicted: Sequence[str]
) -> List[Dict[str, Any]]:
    """The top confusion pairs, each with a few example messages."""
    confusions = []
    for gold_intent, predicted_intent, count in confusion_pairs(gold, predicted, TOP_CONFUSIONS):
        examples = [
            r.text
            for r, g, p in zip(results, gold, predicted, strict=True)
            if g == gold_intent and p == predicted_intent
        ]
        confusions.append(
            {
                "gold": gold_intent,
                "predicted": predicted_intent,
                "count": count,
                "examples": examples[:EXAMPLES_PER_CONFUSION],
            }
        )
    return confusions


def _entity_errors(results: Sequence[ExampleResult], entity_type: str) -> List[Dict[str, Any]]:
    errors = []
    for r in results:
        gold = [e for e in r.gold_entities if e.get("entity") == entity_type]
        predicted = [e for e in r.predicted_entities if e.get("entity") == entity_type]
        scores = entity_scores([gold], [predicted], entity_type)
        if scores["fp"] or scores["fn"]:
            errors.append(
                {
                    "text": r.text,
                    "gold": [[e["start"], e["end"], e["value"]] for e in gold],
                    "predicted": [[e["start"], e["end"], e["value"]] for e in predicted],
                }
            )
    return errors


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render_markdown(report: Mapping[str, Any]) -> str:
    """The human-readable summary (the .md beside the JSON)."""
    s = report["summary"]
    run = report["run"]
    emergency = s["report_emergency"]
    med = s["medication_entity"]
    site = s["procedure_site_entity"]
    sweep = s["threshold_sweep"]
    configured = sweep["configured"]
    rec = sweep["recommended"]
    met = report["targets"]["met"]
    lines = [
        "# NLU benchmark",
        "",
        f"{run['folds']}-fold stratified cross-validation (seed {run['seed']}) of"
        f" `{run['config']}` on `{run['data']}`: {s['examples']} examples, {s['intents']}"
        " intents. Predictions are taken after the whole pipeline (DIET, PrepEntityExtractor,"
        f" RedFlagDetector, FallbackClassifier at threshold {configured['threshold']}, ambiguity"
        f" {configured['ambiguity_threshold']}). Run {run['finished']}, Rasa"
        f" {run['rasa_version']}, {run['total_seconds']:.0f} s in total. Generated by"
        " `make bench-nlu` (scripts/bench_nlu.py); every figure is in the JSON beside"
        " this file.",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
        f"| intent accuracy (nlu_fallback counts as wrong) | {s['intent_accuracy']:.3f} |"
        f" >= {TARGET_INTENT_ACCURACY} {'met' if met['intent_accuracy'] else '**not met**'} |",
        f"| intent accuracy when answered (not fallback) | {s['intent_accuracy_when_answered']:.3f}"
        " | |",
        f"| macro-F1 over the gold intents | {s['macro_f1']:.3f} | |",
        f"| report_emergency recall | {emergency['recall']:.3f} ({emergency['support']}"
        f" examples) | {TARGET_EMERGENCY_RECALL}"
        f" {'met' if met['report_emergency_recall'] else '**not met**'} |",
        f"| report_emergency precision | {emergency['precision']:.3f} | |",
        f"| medication P / R / F1 (span + value) | {med['span_and_value']['precision']:.3f} /"
        f" {med['span_and_value']['recall']:.3f} / {med['span_and_value']['f1']:.3f} | |",
        f"| medication F1 (value only) | {med['value_only']['f1']:.3f} | |",
        f"| procedure_site F1 (span + value / value only) | {site['span_and_value']['f1']:.3f} /"
        f" {site['value_only']['f1']:.3f} | |",
        f"| nlu_fallback rate | {_pct(s['nlu_fallback_rate'])} | |",
        f"| top-1 / top-3 accuracy before FallbackClassifier |"
        f" {s['top1_accuracy_before_fallback']:.3f} / {s['top3_accuracy_before_fallback']:.3f}"
        " | |",
        f"| macro-F1 before FallbackClassifier | {s['macro_f1_before_fallback']:.3f} | |",
        "",
        f"Emergencies caught: {emergency['caught_by_red_flag_detector']} by RedFlagDetector"
        f" (KB patterns), {emergency['caught_by_diet_only']} by DIET alone.",
        "",
        "## Training time",
        "",
        "| fold | train | test | seconds | accuracy |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fold in report["folds"]:
        lines.append(
            f"| {fold['fold']} | {fold['train_examples']} | {fold['test_examples']} |"
            f" {fold['training_seconds']:.1f} | {fold['intent_accuracy']:.3f} |"
        )
    lines += [
        "",
        "## FallbackClassifier threshold sweep",
        "",
        "Replayed on the rankings FallbackClassifier receives (after RedFlagDetector), with the"
        f" configured ambiguity threshold {configured['ambiguity_threshold']}. Shares of all"
        " held-out examples: correct + wrong confident + fallback = 100%. A fallback is safe but"
        " unhelpful; \"gold in top 3\" is the part of the fallbacks whose intent is among the"
        " three \"did you mean\" buttons action_handle_fallback offers. A report_emergency that"
        " falls back is a missed emergency.",
        "",
        "| threshold | correct | wrong confident | fallback | fallback, gold in top 3"
        " | accuracy when answered | emergency recall |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in sweep["rows"]:
        marks = []
        if row["threshold"] == rec["threshold"]:
            marks.append("recommended threshold")
        if row["threshold"] == configured["threshold"]:
            marks.append("configured")
        mark = f" ({', '.join(marks)})" if marks else ""
        lines.append(
            f"| {row['threshold']:.2f}{mark} | {_pct(row['correct_rate'])} |"
            f" {_pct(row['wrong_confident_rate'])} ({row['wrong_confident']}) |"
            f" {_pct(row['fallback_rate'])} ({row['fallback']}) |"
            f" {_pct(row['fallback_top3_rate'])} |"
            f" {row['accuracy_when_answered']:.3f} | {row['emergency_recall']:.3f} |"
        )
    cap_note = (
        ""
        if rec["fallback_cap_met"]
        else f" No threshold keeps the fallback rate under {MAX_FALLBACK_RATE:.0%}, so that"
        " preference could not apply."
    )
    lines += [
        "",
        f"Rule: {sweep['rule']}. Recommended: **threshold {rec['threshold']:.2f}** (ambiguity"
        f" {rec['ambiguity_threshold']:.2f}; correct"
        f" {_pct(rec['correct_rate'])}, wrong confident {_pct(rec['wrong_confident_rate'])},"
        f" fallback {_pct(rec['fallback_rate'])}, emergency recall"
        f" {rec['emergency_recall']:.3f}).{cap_note} Replaying the rule at the configured values"
        f" differs from the pipeline's own decisions on {sweep['replay_mismatches']} examples.",
        "",
        "The same sweep for other ambiguity thresholds (wrong confident / fallback /"
        " emergency recall), for information: a difference of one emergency"
        f" ({safe_ratio(1, emergency['support']):.3f}) is within run-to-run noise.",
        "",
    ]
    ambiguities = sorted({row["ambiguity_threshold"] for row in sweep["grid"]})
    lines += [
        "| threshold | " + " | ".join(f"ambiguity {a:.2f}" for a in ambiguities) + " |",
        "| --- |" + " --- |" * len(ambiguities),
    ]
    cells: Dict[Tuple[float, float], Mapping[str, Any]] = {
        (row["threshold"], row["ambiguity_threshold"]): row for row in sweep["grid"]
    }
    for threshold in sorted({row["threshold"] for row in sweep["grid"]}):
        shown = []
        for ambiguity in ambiguities:
            cell = cells[(threshold, ambiguity)]
            chosen = (threshold, ambiguity) == (rec["threshold"], rec["ambiguity_threshold"])
            text = (
                f"{_pct(cell['wrong_confident_rate'])} / {_pct(cell['fallback_rate'])} /"
                f" {cell['emergency_recall']:.3f}"
            )
            shown.append(f"**{text}**" if chosen else text)
        lines.append(f"| {threshold:.2f} | " + " | ".join(shown) + " |")
    lines += [
        "",
        "Calibration of the top intent before fallback:",
        "",
        "| confidence | examples | accuracy |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {b['from']:.1f}-{b['to']:.1f} | {b['examples']} | {b['accuracy']:.2f} |"
        for b in s["calibration"]
    ]
    lines += [
        "",
        "## Per-intent scores (after the pipeline, worst first)",
        "",
        "| intent | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for intent, sc in sorted(s["per_intent"].items(), key=lambda item: (item[1]["f1"], item[0])):
        lines.append(
            f"| {intent} | {sc['precision']:.3f} | {sc['recall']:.3f} | {sc['f1']:.3f} |"
            f" {sc['support']} |"
        )
    for title, key in (
        ("after the pipeline", "confusion_pairs"),
        (
            "before FallbackClassifier: which intents DIET mixes up",
            "confusion_pairs_before_fallback",
        ),
    ):
        lines += ["", f"## Top {TOP_CONFUSIONS} confusions {title} (gold -> predicted)", ""]
        for pair in s[key]:
            quoted = "; ".join(f'"{text}"' for text in pair["examples"])
            lines.append(f"- {pair['gold']} -> {pair['predicted']}: {pair['count']} ({quoted})")
    lines += ["", "## Missed report_emergency examples", ""]
    lines += [
        f'- "{m["text"]}" -> {m["predicted"]} ({m["confidence"]:.2f}; top before fallback:'
        f" {m['ranking'][0][0] if m['ranking'] else '-'})"
        for m in s["missed_report_emergency"]
    ] or ["None."]
    lines += ["", "## Predicted report_emergency, gold something else", ""]
    lines += [
        f'- "{m["text"]}" (gold {m["gold"]}, red flag fired: {m["red_flag"]})'
        for m in s["false_report_emergency"]
    ] or ["None."]
    lines += ["", "## Medication entity errors ([start, end, value])", ""]
    lines += [
        f'- "{e["text"]}": gold {e["gold"]}, predicted {e["predicted"]}'
        for e in s["medication_entity_errors"]
    ] or ["None."]
    lines.append("")
    return "\n".join(lines)


def print_summary(report: Mapping[str, Any]) -> None:
    """The headline figures on stdout."""
    s = report["summary"]
    med = s["medication_entity"]
    rec = s["threshold_sweep"]["recommended"]
    configured = s["threshold_sweep"]["configured"]
    print(
        "\n".join(
            [
                "",
                f"intent accuracy        {s['intent_accuracy']:.3f}"
                f" (target >= {TARGET_INTENT_ACCURACY}; when answered"
                f" {s['intent_accuracy_when_answered']:.3f})",
                f"macro-F1               {s['macro_f1']:.3f}",
                f"report_emergency       recall {s['report_emergency']['recall']:.3f}"
                f" (target {TARGET_EMERGENCY_RECALL}), precision"
                f" {s['report_emergency']['precision']:.3f}",
                f"medication entity      P {med['span_and_value']['precision']:.3f}"
                f" R {med['span_and_value']['recall']:.3f} F1 {med['span_and_value']['f1']:.3f}"
                f" (value-only F1 {med['value_only']['f1']:.3f})",
                f"nlu_fallback rate      {s['nlu_fallback_rate']:.3f}"
                f" (threshold {configured['threshold']})",
                f"before fallback        top-1 {s['top1_accuracy_before_fallback']:.3f},"
                f" top-3 {s['top3_accuracy_before_fallback']:.3f}",
                f"recommended            threshold {rec['threshold']:.2f}, ambiguity"
                f" {rec['ambiguity_threshold']:.2f} (correct {rec['correct_rate']:.3f},"
                f" wrong confident {rec['wrong_confident_rate']:.3f}, fallback"
                f" {rec['fallback_rate']:.3f}, emergency recall {rec['emergency_recall']:.3f})",
                "top confusions before fallback:",
                *(
                    f"  {c['gold']} -> {c['predicted']}: {c['count']}"
                    for c in s["confusion_pairs_before_fallback"][:8]
                ),
                f"missed emergencies     {len(s['missed_report_emergency'])}",
                f"training seconds       {report['training_seconds_per_fold']}",
                f"total runtime          {report['run']['total_seconds']:.0f} s",
            ]
        )
    )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line options; the defaults are what `make bench-nlu` runs."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--out",
        help="JSON path; the .md goes beside it (default: bench/results/<date>-<machine>-nlu.json)",
    )
    parser.add_argument(
        "--resummarise",
        metavar="JSON",
        help="no training: recompute the figures from the predictions stored in this JSON",
    )
    return parser.parse_args(argv)


def build_report(
    run: Dict[str, Any],
    folds: List[Dict[str, Any]],
    results: Sequence[ExampleResult],
    fallback: Mapping[str, float],
) -> Dict[str, Any]:
    """The JSON document: run facts, targets, folds, summary and every prediction."""
    summary = summarise(results, fallback)
    return {
        "run": {**run, "fallback": dict(fallback)},
        "targets": {
            "intent_accuracy": TARGET_INTENT_ACCURACY,
            "report_emergency_recall": TARGET_EMERGENCY_RECALL,
            "met": {
                "intent_accuracy": summary["intent_accuracy"] >= TARGET_INTENT_ACCURACY,
                "report_emergency_recall": summary["report_emergency"]["recall"]
                >= TARGET_EMERGENCY_RECALL,
            },
        },
        "folds": folds,
        "training_seconds_per_fold": [fold["training_seconds"] for fold in folds],
        "summary": summary,
        "predictions": [asdict(r) for r in results],
    }


def results_from_json(predictions: Iterable[Mapping[str, Any]]) -> List[ExampleResult]:
    """ExampleResults back from the JSON written by an earlier run."""
    return [
        ExampleResult(
            **{
                **prediction,
                "ranking": [(str(name), float(conf)) for name, conf in prediction["ranking"]],
            }
        )
        for prediction in predictions
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark and writes the JSON and Markdown results."""
    args = parse_args(argv)
    os.chdir(REPO_ROOT)  # config.yml's vocabulary_path is relative to the repository
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # the custom components live in bot/
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from run_info import result_path, run_facts  # bench/run_info.py, standard library only

    facts = run_facts()
    if args.resummarise:
        previous = json.loads(Path(args.resummarise).read_text())
        report = build_report(
            previous["run"],
            previous["folds"],
            results_from_json(previous["predictions"]),
            previous["run"]["fallback"],
        )
    else:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="bench_nlu_cache_") as cache_dir:
            configure_environment(Path(cache_dir))
            import rasa

            quiet_rasa_logs()
            fallback = fallback_settings(args.config)
            results, folds = run_cross_validation(args.config, args.data, args.folds, args.seed)
        run = {
            "config": args.config,
            "data": args.data,
            "data_sha256": data_fingerprint(Path(args.data).rglob("*.yml")),
            "config_sha256": data_fingerprint([Path(args.config)]),
            "git_head": facts["git_commit"],
            "date": facts["date"],
            "machine": facts["machine"],
            "folds": args.folds,
            "seed": args.seed,
            "rasa_version": rasa.__version__,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "total_seconds": round(time.perf_counter() - started, 1),
        }
        report = build_report(run, folds, results, fallback)
    out = Path(args.out) if args.out else result_path(facts, "nlu")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(render_markdown(report))
    print_summary(report)
    print(f"\nwrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
