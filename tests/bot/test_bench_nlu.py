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
    sys.modules["bench_nlu"] = module
    spec.loader.exec_module(module)
    return module


bench = load_script()

GOLD = ["greet", "greet", "ask_fasting", "ask_fasting", "ask_driver"]
PREDICTED = ["greet", "ask_fasting", "ask_fasting", "nlu_fallback", "ask_driver"]


def test_accuracy() -> None:
    assert bench.accuracy(GOLD, PREDICTED) == pytest.approx(3 / 5)
    assert bench.accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        bench.accuracy(["a"], [])


def test_per_label_scores_over_gold_labels() -> None:
    scores = bench.per_label_scores(GOLD, PREDICTED)
    assert set(scores) == {"greet", "ask_fasting", "ask_driver"}
    assert scores["greet"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(0.6667),
                               "support": 2}
    assert scores["ask_fasting"]["precision"] == 0.5
    assert scores["ask_driver"]["f1"] == 1.0


def test_confusion_pairs_are_counts_only() -> None:
    pairs = bench.confusion_pairs(GOLD + ["greet"], PREDICTED + ["ask_fasting"])
    assert pairs[0] == {"gold": "greet", "predicted": "ask_fasting", "count": 2}
    assert all(set(p) == {"gold", "predicted", "count"} for p in pairs)


def test_per_tag_accuracy() -> None:
    tags = [["typo"], ["typo", "carer"], [], ["carer"], ["typo"]]
    correct = [True, False, True, False, True]
    assert bench.per_tag_accuracy(tags, correct) == {
        "carer": {"n": 2, "accuracy": 0.0},
        "typo": {"n": 3, "accuracy": pytest.approx(0.6667)},
    }


def test_language_scores() -> None:
    scores = bench.language_scores("es", ["es", None, "en", "es"])
    assert scores == {"n": 4, "coverage": 0.75, "accuracy": 0.5, "precision": 0.6667}
    assert bench.language_scores("en", [])["coverage"] == 0.0


def test_fallback_sweep() -> None:
    rows = bench.fallback_sweep(["a", "b", "c"], ["a", "x", "c"], [0.9, 0.2, 0.4],
                                thresholds=[0.0, 0.3, 0.5])
    assert [r["fallback_rate"] for r in rows] == [0.0, 0.3333, 0.6667]
    assert [r["wrong_answers"] for r in rows] == [1, 0, 0]
    assert rows[1]["accuracy_answered"] == 1.0


def test_text_key_and_prediction() -> None:
    assert bench.text_key("¿Sedación?") == bench.text_key("sedacion")
    parsed = {
        "intent": {"name": "nlu_fallback", "confidence": 0.2},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.2},
                           {"name": "ask_fasting", "confidence": 0.15}],
        "entities": [
            {"entity": "topic", "value": "ask_driver", "start": 10},
            {"entity": "topic", "value": "ask_fasting", "start": 0},
            {"entity": "language", "value": "en", "start": 0},
        ],
    }
    result = bench.prediction(parsed)
    assert result["raw_intent"] == "ask_fasting" and result["raw_confidence"] == 0.15
    assert result["topics"] == ["ask_fasting", "ask_driver"]
    assert result["language"] == "en"


def test_load_set_reads_both_label_forms(tmp_path: Path) -> None:
    path = tmp_path / "set.yml"
    path.write_text(
        "language: en\nmessages:\n"
        "  - {text: 'hi', intent: greet}\n"
        "  - {text: 'fast and drive?', intents: [ask_fasting, ask_driver],"
        " tags: [multi_question]}\n"
    )
    messages = bench.load_set(path)
    assert messages[0] == {"text": "hi", "intents": ["greet"], "tags": []}
    assert messages[1]["intents"] == ["ask_fasting", "ask_driver"]
