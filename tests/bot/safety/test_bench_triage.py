"""scripts/bench_triage.py on a tiny fixture set: figures, intervals and the results file."""

import importlib.util
import json
from pathlib import Path

import yaml

from bot.safety.evaluation import Labelled, Predicted, clopper_pearson, figures, targets_met

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "bench_triage.py"
MESSAGES = [
    {"text": "not sure if this is normal but i cant feel my legs", "language": "en",
     "level": "emergency", "category": "weakness_numbness", "hedged": True, "buried": False},
    {"text": "no puedo orinar desde la intervencion", "language": "es", "level": "emergency",
     "category": "bladder_bowel", "hedged": False, "buried": False},
    {"text": "i want to end it all", "language": "en", "level": "crisis",
     "category": "suicidal_thoughts", "hedged": False, "buried": False},
    {"text": "temp is 38.5 tonight", "language": "en", "level": "urgent", "category": "fever",
     "hedged": False, "buried": False},
    {"text": "no tengo fiebre", "language": "es", "level": "routine", "category": "negated",
     "hedged": False, "buried": False},
    {"text": "what if I get a fever?", "language": "en", "level": "routine",
     "category": "hypothetical", "hedged": False, "buried": False},
]


def load_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_triage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_bench_writes_every_figure_for_the_three_detectors(tmp_path: Path) -> None:
    fixture = tmp_path / "tiny.yml"
    fixture.write_text(yaml.safe_dump({"messages": MESSAGES}), "utf-8")
    out = tmp_path / "triage.json"
    assert load_script().main(["--test", str(fixture), "--dev", str(fixture),
                               "--out", str(out)]) == 0
    report = json.loads(out.read_text("utf-8"))
    for key in ("date", "machine", "git", "thresholds", "test", "dev", "language_detection",
                "latency_ms"):
        assert key in report
    assert report["machine"]["nproc"] >= 1 and report["machine"]["python"].startswith("3.")
    combined = report["test"]["combined"]
    assert combined["figures"]["emergency_crisis_recall"]["all"] == {
        "k": 3, "n": 3, "rate": 1.0, "ci95": combined["figures"]["emergency_crisis_recall"][
            "all"]["ci95"]}
    assert combined["figures"]["routine_false_alarms"]["all"]["k"] == 0
    assert combined["targets"]["urgent_routed"]["met"] is True
    assert set(report["test"]) >= {"combined", "patterns", "classifier", "counts"}
    assert report["test"]["counts"]["es/emergency"] == 1


def test_clopper_pearson_bounds() -> None:
    low, high = clopper_pearson(99, 100)
    assert 0.94 < low < 0.96 and 0.999 < high <= 1.0
    assert clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(10, 10)[1] == 1.0


def test_definitions() -> None:
    items = [Labelled("a", "en", "emergency", "overdose_self_harm_act"),
             Labelled("b", "en", "crisis", "suicidal_thoughts"),
             Labelled("c", "en", "urgent", "fever"),
             Labelled("d", "en", "routine", "flare")]
    predictions = [Predicted("crisis", True), Predicted("emergency", False),
                   Predicted("emergency", False), Predicted("urgent", False)]
    result = figures(items, predictions)
    assert result["emergency_crisis_recall"]["all"]["k"] == 2  # crisis counts for an overdose
    assert result["crisis_line"]["all"]["k"] == 0  # an emergency without a self-harm flag
    assert result["urgent_routed"]["all"]["k"] == 1
    assert result["urgent_as_emergency"]["all"]["k"] == 1
    assert result["routine_false_alarms"]["all"]["k"] == 1
    assert result["routine_over_triage"]["all"]["k"] == 0
    assert targets_met(result)["routine_false_alarms"]["met"] is False
