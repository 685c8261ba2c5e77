"""scripts/bench_nlu.py: the pure metric functions, on tiny hand-made inputs (no training)."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_nlu.py"


def load_script() -> ModuleType:
    """scripts/ is not a package: import the file by path (it imports no Rasa at module level)."""
    spec = importlib.util.spec_from_file_location("bench_nlu", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_nlu"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = load_script()

GOLD = ["greet", "greet", "ask_fasting", "ask_fasting", "report_emergency"]
PREDICTED = ["greet", "ask_fasting", "ask_fasting", "nlu_fallback", "report_emergency"]


def test_accuracy_counts_fallback_as_wrong() -> None:
    assert bench.accuracy(GOLD, PREDICTED) == pytest.approx(3 / 5)
    assert bench.accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        bench.accuracy(["a"], [])


def test_per_label_scores_and_macro_f1_over_gold_labels() -> None:
    scores = bench.per_label_scores(GOLD, PREDICTED)
    # nlu_fallback never occurs in gold: it is not a label of its own
    assert set(scores) == {"greet", "ask_fasting", "report_emergency"}
    # greet: tp 1, fn 1, fp 0 -> P 1, R 0.5, F1 2/3
    assert scores["greet"]["precision"] == pytest.approx(1.0)
    assert scores["greet"]["recall"] == pytest.approx(0.5)
    assert scores["greet"]["f1"] == pytest.approx(2 / 3)
    assert scores["greet"]["support"] == 2
    # ask_fasting: tp 1, fp 1 (a greet), fn 1 (fallback) -> P 0.5, R 0.5, F1 0.5
    assert scores["ask_fasting"]["f1"] == pytest.approx(0.5)
    assert scores["report_emergency"]["f1"] == pytest.approx(1.0)
    assert bench.macro_f1(GOLD, PREDICTED) == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)


def test_macro_f1_of_a_label_never_predicted_is_zero() -> None:
    assert bench.macro_f1(["a", "b"], ["a", "a"]) == pytest.approx((2 / 3 + 0.0) / 2)


def test_confusion_pairs_most_frequent_first() -> None:
    gold = ["a", "a", "a", "b", "c", "c"]
    predicted = ["b", "b", "a", "a", "b", "a"]
    assert bench.confusion_pairs(gold, predicted) == [
        ("a", "b", 2),
        ("b", "a", 1),
        ("c", "a", 1),
        ("c", "b", 1),
    ]
    assert bench.confusion_pairs(gold, predicted, top=1) == [("a", "b", 2)]


def med(start: int, end: int, value: str, entity: str = "medication") -> dict:
    return {"entity": entity, "start": start, "end": end, "value": value}


def test_entity_scores_span_and_value() -> None:
    gold = [
        [med(10, 17, "apixaban")],  # predicted exactly (value case ignored)
        [med(0, 6, "garlic"), med(17, 23, "ginkgo")],  # garlic span too long
        [med(3, 9, "insulin")],  # missed
        [],  # a spurious prediction
    ]
    predicted = [
        [med(10, 17, "Apixaban"), med(0, 4, "lumbar", entity="procedure_site")],
        [med(0, 12, "garlic"), med(17, 23, "ginkgo")],
        [],
        [med(0, 5, "aspirin")],
    ]
    span = bench.entity_scores(gold, predicted, "medication")
    assert (span["tp"], span["fp"], span["fn"]) == (2, 2, 2)
    assert span["precision"] == pytest.approx(0.5)
    assert span["recall"] == pytest.approx(0.5)
    assert span["f1"] == pytest.approx(0.5)
    value = bench.entity_scores(gold, predicted, "medication", mode="value")
    assert (value["tp"], value["fp"], value["fn"]) == (3, 1, 1)
    assert value["f1"] == pytest.approx(0.75)
    site = bench.entity_scores(gold, predicted, "procedure_site")
    assert (site["tp"], site["fp"], site["fn"], site["f1"]) == (0, 1, 0, 0.0)


def test_entity_scores_count_duplicates() -> None:
    gold = [[med(0, 7, "aspirin"), med(20, 27, "aspirin")]]
    predicted = [[med(0, 7, "aspirin")]]
    value = bench.entity_scores(gold, predicted, "medication", mode="value")
    assert (value["tp"], value["fn"]) == (1, 1)
    with pytest.raises(ValueError):
        bench.entity_scores(gold, predicted, "medication", mode="fuzzy")


def test_would_fall_back_mirrors_fallback_classifier() -> None:
    assert bench.would_fall_back([("a", 0.4), ("b", 0.1)], 0.45, 0.05)  # below threshold
    assert bench.would_fall_back([("a", 0.5), ("b", 0.48)], 0.45, 0.05)  # ambiguous
    assert not bench.would_fall_back([("a", 0.5), ("b", 0.2)], 0.45, 0.05)
    assert not bench.would_fall_back([("a", 0.45)], 0.45, 0.05)  # at threshold: kept
    assert bench.would_fall_back([], 0.45, 0.05)


RANKINGS = [
    [("greet", 0.9), ("thank", 0.05)],  # greet, correct at every threshold
    [("ask_fasting", 0.5), ("greet", 0.3)],  # gold greet: wrong until 0.55, then fallback
    [("ask_fasting", 0.6), ("ask_sedation", 0.2)],  # correct until 0.65
    [("ask_driver", 0.4), ("ask_fasting", 0.35)],  # gold ask_fasting, 2nd: wrong, then fallback
    [("report_emergency", 0.52), ("ask_risks", 0.3)],  # emergency lost at 0.55
]


def test_threshold_sweep_partitions_every_example() -> None:
    rows = bench.threshold_sweep(GOLD, RANKINGS, [0.3, 0.45, 0.55, 0.7], ambiguity_threshold=0.0)
    assert [row["threshold"] for row in rows] == [0.3, 0.45, 0.55, 0.7]
    for row in rows:
        total = row["correct_rate"] + row["wrong_confident_rate"] + row["fallback_rate"]
        assert total == pytest.approx(1.0)
    at_030, at_045, at_055, at_070 = rows
    assert (at_030["correct"], at_030["wrong_confident"], at_030["fallback"]) == (3, 2, 0)
    assert (at_045["correct"], at_045["wrong_confident"], at_045["fallback"]) == (3, 1, 1)
    assert at_045["accuracy_when_answered"] == pytest.approx(3 / 4)
    # the fallen-back ask_fasting example has its gold intent second: a useful suggestion
    assert at_045["fallback_top3_rate"] == pytest.approx(1 / 5)
    assert at_045["emergency_recall"] == pytest.approx(1.0)
    assert (at_055["correct"], at_055["wrong_confident"], at_055["fallback"]) == (2, 0, 3)
    assert at_055["emergency_recall"] == pytest.approx(0.0)
    assert (at_070["correct"], at_070["fallback"]) == (1, 4)


def test_threshold_sweep_applies_the_ambiguity_threshold() -> None:
    (row,) = bench.threshold_sweep(GOLD, RANKINGS, [0.3], ambiguity_threshold=0.1)
    # ask_driver 0.4 vs ask_fasting 0.35 is now ambiguous
    assert (row["correct"], row["wrong_confident"], row["fallback"]) == (3, 1, 1)


def row(threshold: float, wrong: float, fallback: float, recall: float = 1.0) -> dict:
    return {
        "threshold": threshold,
        "wrong_confident_rate": wrong,
        "fallback_rate": fallback,
        "emergency_recall": recall,
    }


def test_recommend_threshold_prefers_low_cost_under_the_fallback_cap() -> None:
    rows = [row(0.3, 0.10, 0.02), row(0.4, 0.05, 0.06), row(0.5, 0.0, 0.15)]
    chosen = bench.recommend_threshold(rows, max_fallback_rate=0.10, wrong_answer_cost=3.0)
    assert chosen["threshold"] == 0.4  # 0.5 is cheaper but over the cap
    assert chosen["fallback_cap_met"] is True
    assert chosen["cost"] == pytest.approx(3 * 0.05 + 0.06)


def test_recommend_threshold_never_trades_emergencies_for_fewer_wrong_answers() -> None:
    rows = [row(0.3, 0.30, 0.20, recall=0.9), row(0.4, 0.20, 0.30, recall=0.8)]
    chosen = bench.recommend_threshold(rows, max_fallback_rate=0.10)
    assert chosen["threshold"] == 0.3
    assert chosen["fallback_cap_met"] is False


def test_recommend_threshold_ties_go_to_the_lower_threshold() -> None:
    rows = [row(0.5, 0.0, 0.05), row(0.35, 0.0, 0.05)]
    assert bench.recommend_threshold(rows)["threshold"] == 0.35
    with pytest.raises(ValueError):
        bench.recommend_threshold([])


def test_calibration_buckets() -> None:
    buckets = bench.calibration(GOLD, RANKINGS, bins=2)
    assert buckets == [
        {"from": 0.0, "to": 0.5, "examples": 1, "accuracy": 0.0},
        {"from": 0.5, "to": 1.0, "examples": 4, "accuracy": 0.75},
    ]


def test_summarise_and_render_without_training() -> None:
    results = [
        bench.ExampleResult(
            fold=1,
            text=f"message {i}",
            gold_intent=gold,
            predicted_intent=predicted,
            confidence=ranking[0][1],
            ranking=ranking,
        )
        for i, (gold, predicted, ranking) in enumerate(zip(GOLD, PREDICTED, RANKINGS, strict=True))
    ]
    fallback = {"threshold": 0.45, "ambiguity_threshold": 0.0}
    folds = [
        {
            "fold": 1,
            "train_examples": 5,
            "test_examples": 5,
            "training_seconds": 1.0,
            "intent_accuracy": 0.6,
        }
    ]
    report = bench.build_report(
        {
            "config": "c",
            "data": "d",
            "folds": 1,
            "seed": 0,
            "rasa_version": "3.6.21",
            "finished": "now",
            "total_seconds": 1.0,
        },
        folds,
        results,
        fallback,
    )
    summary = report["summary"]
    assert summary["intent_accuracy"] == pytest.approx(0.6)
    assert summary["nlu_fallback_rate"] == pytest.approx(0.2)
    assert report["targets"]["met"] == {"intent_accuracy": False, "report_emergency_recall": True}
    markdown = bench.render_markdown(report)
    assert "| intent accuracy" in markdown
    assert bench.results_from_json(report["predictions"]) == results
