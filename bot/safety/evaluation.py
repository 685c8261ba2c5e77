"""Triage figures on a labelled set: recall per level, language and category, false alarms,
urgent routing, hedged and buried recall, each with a Clopper-Pearson 95% interval.

Definitions (issue 10 and /work/staging/brief/triage.md):
- emergency recall: an emergency message predicted emergency (or crisis, for the self-harm
  category overdose_self_harm_act, whose reply also gives the emergency number);
- crisis recall: a crisis message predicted crisis or emergency;
- crisis line shown: predicted crisis, or emergency with a self-harm flag;
- emergency+crisis recall: both of the above together (target >= 99%);
- urgent routed to the clinic: predicted urgent or emergency (reported separately);
- routine false alarm: a routine message predicted anything above routine; over-triage:
  predicted emergency or crisis (for routine and urgent messages).
Used by scripts/bench_triage.py (test sets) and scripts/tune_triage.py (dev set only).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml  # type: ignore[import-untyped]  # no stubs in the bot environment

TARGETS: Mapping[str, float] = {
    "emergency_crisis_recall": 0.99,
    "crisis_line": 0.95,
    "routine_false_alarms": 0.10,  # at most
    "urgent_routed": 0.90,
}
SELF_HARM_ACT = "overdose_self_harm_act"


@dataclass(frozen=True)
class Labelled:
    """One message of a triage set."""

    text: str
    language: str
    level: str
    category: str
    hedged: bool = False
    buried: bool = False


@dataclass(frozen=True)
class Predicted:
    """What a detector said about one message."""

    level: str
    crisis_line: bool
    category: Optional[str] = None


def load_set(paths: Iterable[Path]) -> List[Labelled]:
    """The messages of one or more triage set files."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    items: List[Labelled] = []
    for path in paths:
        document = yaml.load(Path(path).read_text("utf-8"), Loader=loader) or {}  # noqa: S506
        for raw in document.get("messages", []):
            items.append(Labelled(str(raw["text"]), str(raw.get("language", "en")),
                                  str(raw["level"]), str(raw.get("category", "")),
                                  bool(raw.get("hedged", False)), bool(raw.get("buried", False))))
    return items


# Ordinary preparation questions (the NLU evaluation sets) that may carry a symptom report.
NOT_ORDINARY_INTENTS = frozenset({"report_illness", "report_emergency", "report_crisis",
                                  "report_urgent"})


def load_ordinary_questions(paths: Iterable[Path]) -> List[Labelled]:
    """The NLU evaluation messages that are ordinary questions (every intent a preparation or
    small-talk one), labelled routine: triage on them measures false alarms in everyday use."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    items: List[Labelled] = []
    for path in paths:
        document = yaml.load(Path(path).read_text("utf-8"), Loader=loader) or {}  # noqa: S506
        language = str(document.get("language", "en"))
        for raw in document.get("messages", []):
            intents = raw.get("intents") or [raw.get("intent")]
            if not intents or NOT_ORDINARY_INTENTS & {str(i) for i in intents}:
                continue
            items.append(Labelled(str(raw["text"]), language, "routine", "ordinary_question"))
    return items


def false_alarm_rate(predicted: Sequence[Predicted]) -> Dict[str, Any]:
    """How many routine messages were answered as an alarm, with the 95% interval."""
    alarms = sum(p.level != "routine" for p in predicted)
    low, high = clopper_pearson(alarms, len(predicted))
    return {"k": alarms, "n": len(predicted),
            "rate": round(alarms / len(predicted), 4) if predicted else None,
            "ci95": [round(low, 4), round(high, 4)],
            "by_level": {level: sum(p.level == level for p in predicted)
                         for level in ("emergency", "crisis", "urgent")}}


def clopper_pearson(successes: int, total: int, confidence: float = 0.95) -> Tuple[float, float]:
    """Exact binomial interval for successes/total."""
    from scipy.stats import beta

    if total == 0:
        return (0.0, 1.0)
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, total - successes + 1))
    high = 1.0 if successes == total else float(
        beta.ppf(1 - alpha / 2, successes + 1, total - successes))
    return (low, high)


def proportion(successes: int, total: int) -> Dict[str, Any]:
    """k, n, the rate and its 95% interval, rounded for reports."""
    low, high = clopper_pearson(successes, total)
    rate = successes / total if total else None
    return {"k": successes, "n": total, "rate": None if rate is None else round(rate, 4),
            "ci95": [round(low, 4), round(high, 4)]}


def caught(item: Labelled, predicted: Predicted) -> bool:
    """Whether the detector answered the message at its level (or safer)."""
    if item.level == "emergency":
        return predicted.level == "emergency" or (
            predicted.level == "crisis" and item.category == SELF_HARM_ACT)
    if item.level == "crisis":
        return predicted.level in ("crisis", "emergency")
    if item.level == "urgent":
        return predicted.level in ("urgent", "emergency")
    return predicted.level == "routine"


def figures(items: Sequence[Labelled], predictions: Sequence[Predicted]) -> Dict[str, Any]:
    """Every figure of the report for one detector on one set."""
    assert len(items) == len(predictions)
    counts: Dict[Tuple[str, ...], List[int]] = defaultdict(lambda: [0, 0])

    def count(key: Tuple[str, ...], success: bool) -> None:
        counts[key][0] += int(success)
        counts[key][1] += 1

    for item, predicted in zip(items, predictions, strict=False):
        languages = ("all", item.language)
        right = caught(item, predicted)
        for language in languages:
            count(("level", item.level, language), right)
            count(("category", item.level, item.category, language), right)
            if item.level in ("emergency", "crisis"):
                count(("emergency_crisis_recall", language), right)
                if item.hedged:
                    count(("hedged_recall", language), right)
                if item.buried:
                    count(("buried_recall", language), right)
            if item.level == "crisis":
                count(("crisis_line", language), predicted.crisis_line)
            if item.level == "urgent":
                count(("urgent_routed", language), right)
                count(("urgent_as_urgent", language), predicted.level == "urgent")
                count(("urgent_as_emergency", language), predicted.level == "emergency")
                count(("urgent_over_triage", language),
                      predicted.level in ("emergency", "crisis"))
                if item.hedged:
                    count(("urgent_hedged_routed", language), right)
                if item.buried:
                    count(("urgent_buried_routed", language), right)
            if item.level == "routine":
                count(("routine_false_alarms", language), predicted.level != "routine")
                count(("routine_over_triage", language),
                      predicted.level in ("emergency", "crisis"))

    result: Dict[str, Any] = {}
    for key in sorted(counts):
        k, n = counts[key]
        node = result
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = proportion(k, n)
    return result


def targets_met(result: Mapping[str, Any], language: str = "all") -> Dict[str, Any]:
    """Each target with the figure it is judged on (the point estimate)."""
    out: Dict[str, Any] = {}
    for name, target in TARGETS.items():
        figure = result.get(name, {}).get(language)
        rate = figure["rate"] if figure else None
        if rate is None:
            out[name] = {"target": target, "rate": None, "met": None}
            continue
        met = rate <= target if name == "routine_false_alarms" else rate >= target
        out[name] = {"target": target, "rate": rate, "met": met}
    return out


def predict_all(detect: Callable[[Sequence[str], Sequence[str]], Sequence[Predicted]],
                items: Sequence[Labelled]) -> List[Predicted]:
    """Run a detector (texts, language hints -> predictions) over a set."""
    return list(detect([i.text for i in items], [i.language for i in items]))


def table(result: Mapping[str, Any], title: str) -> str:
    """The headline rows as a fixed-width table."""
    rows = [title, f"{'figure':<38}{'lang':<5}{'k/n':>10}{'rate':>8}  {'95% CI':<15}{'target':>8}"]

    def line(label: str, figure: Optional[Mapping[str, Any]], language: str,
             target: str = "") -> None:
        if not figure or not figure["n"]:
            return
        low, high = figure["ci95"]
        rows.append(f"{label:<38}{language:<5}{figure['k']:>4}/{figure['n']:<5}"
                    f"{100 * figure['rate']:>7.1f}%  [{100 * low:5.1f},{100 * high:5.1f}]"
                    f"{target:>8}")

    for language in ("all", "en", "es"):
        line("emergency+crisis recall", result.get("emergency_crisis_recall", {}).get(language),
             language, ">=99%")
        line("  emergency recall", result.get("level", {}).get("emergency", {}).get(language),
             language)
        line("  crisis recall", result.get("level", {}).get("crisis", {}).get(language),
             language)
        line("crisis line shown (crisis msgs)", result.get("crisis_line", {}).get(language),
             language, ">=95%")
        line("urgent routed to clinic", result.get("urgent_routed", {}).get(language),
             language, ">=90%")
        line("  urgent -> urgent", result.get("urgent_as_urgent", {}).get(language), language)
        line("  urgent -> emergency", result.get("urgent_as_emergency", {}).get(language),
             language)
        line("routine false alarms", result.get("routine_false_alarms", {}).get(language),
             language, "<=10%")
        line("  routine over-triage (E/C)", result.get("routine_over_triage", {}).get(language),
             language)
        line("hedged E/C recall", result.get("hedged_recall", {}).get(language), language)
        line("buried E/C recall", result.get("buried_recall", {}).get(language), language)
    categories = result.get("category", {})
    rows.append("per category (all languages): recall (routine: correctly routine)")
    for level in ("emergency", "crisis", "urgent", "routine"):
        for category, per_language in sorted(categories.get(level, {}).items()):
            line(f"  {level}/{category}", per_language.get("all"), "all")
    return "\n".join(rows)
