"""Triage benchmark (`make bench-triage`): the safety detector on the held-out test sets.

    .venv/bot/bin/python scripts/bench_triage.py [--test FILE ...] [--dev FILE] [--out PATH]

Prints and writes (bench/results/triage.json) recall per level, language and category,
emergency+crisis recall, the crisis line on crisis messages, urgent messages routed to the
clinic (urgent or emergency, reported separately), routine false alarms and over-triage,
hedged and buried recall, each with a Clopper-Pearson 95% interval, for the combined detector
(patterns + classifier), the patterns alone and the classifier alone. Definitions:
bot/safety/evaluation.py. Targets (issue 10): emergency+crisis recall >= 99%, crisis line
>= 95%, routine false alarms <= 10%, urgent routed >= 90%.

The test sets (eval/triage/test_*.yml) are only scored here, in aggregate: nothing is tuned on
them and no individual test message is printed. The development set (eval/triage/dev.yml) was
used for the patterns' error analysis and the thresholds (scripts/tune_triage.py), so its
figures are reported separately and are optimistic. Also reported: how often the language
detector gets 1-5-word messages right (dev set), and the time per message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.safety.evaluation import (  # noqa: E402
    Labelled,
    Predicted,
    false_alarm_rate,
    figures,
    load_ordinary_questions,
    load_set,
    table,
    targets_met,
)
from bot.safety.language import LanguageDetector  # noqa: E402
from bot.safety.triage import Triage, shared_classifier  # noqa: E402

DEFAULT_TESTS = [ROOT / "eval" / "triage" / "test_en.yml", ROOT / "eval" / "triage" / "test_es.yml"]
DEFAULT_DEV = ROOT / "eval" / "triage" / "dev.yml"
DEFAULT_OUT = ROOT / "bench" / "results" / "triage.json"
# Ordinary questions for the everyday false-alarm rate: the NLU test sets (never tuned on).
ORDINARY_TESTS = {"en": ROOT / "eval" / "nlu" / "test_en.yml",
                  "es": ROOT / "eval" / "nlu" / "test_es.yml"}
MODES = ("combined", "patterns", "classifier")


def machine() -> Dict[str, Any]:
    """nproc, CPU model, RAM and Python of this machine."""
    cpu = platform.processor() or ""
    ram_gib: Optional[float] = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "ram_gib": ram_gib,
            "python": platform.python_version(), "platform": platform.platform()}


def git_commit() -> Dict[str, Any]:
    """The commit benchmarked, and whether the work tree had changes."""
    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()
    return {"commit": run("rev-parse", "HEAD") or None,
            "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}


def detector(mode: str) -> Triage:
    return Triage(use_rules=mode != "classifier", use_classifier=mode != "patterns")


def predictions(triage: Triage, items: Sequence[Labelled]) -> List[Predicted]:
    verdicts = triage.assess_many([i.text for i in items], [i.language for i in items])
    return [Predicted(v.level, v.shows_crisis_line, v.category) for v in verdicts]


def evaluate(items: Sequence[Labelled]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for mode in MODES:
        result = figures(items, predictions(detector(mode), items))
        out[mode] = {"targets": targets_met(result), "figures": result}
    return out


def language_accuracy(items: Sequence[Labelled]) -> Dict[str, Any]:
    """lingua (en/es only, no hint) on dev messages of 1-5 words, and on the first 1-5 words
    of every dev message."""
    lingua = LanguageDetector(("en", "es"), minimum_confidence=0.0)
    whole = [i for i in items if 1 <= len(i.text.split()) <= 5]
    right = sum(lingua.detect(i.text).language == i.language for i in whole)
    prefixes: Dict[str, Dict[str, Any]] = {}
    total_right = total = 0
    for words in range(1, 6):
        sample = [(" ".join(i.text.split()[:words]), i.language) for i in items
                  if len(i.text.split()) >= words]
        ok = sum(lingua.detect(text).language == language for text, language in sample)
        prefixes[str(words)] = {"k": ok, "n": len(sample),
                                "rate": round(ok / len(sample), 4) if sample else None}
        total_right += ok
        total += len(sample)
    # The rule the triage uses (confidence by word count), given the WRONG language as hint:
    # how often the text itself still wins.
    deciding = LanguageDetector(("en", "es"))
    wrong_hint: Dict[str, Dict[str, Any]] = {}
    for words in range(1, 6):
        sample = [(" ".join(i.text.split()[:words]), i.language) for i in items
                  if len(i.text.split()) >= words]
        ok = sum(deciding.detect(text, "es" if language == "en" else "en").language == language
                 for text, language in sample)
        wrong_hint[str(words)] = {"k": ok, "n": len(sample),
                                  "rate": round(ok / len(sample), 4) if sample else None}
    return {
        "detector": "lingua-language-detector 2.1.1, restricted to en/es",
        "first_n_words_with_the_wrong_hint": wrong_hint,
        "messages_of_1_to_5_words": {"k": right, "n": len(whole),
                                     "rate": round(right / len(whole), 4) if whole else None},
        "first_n_words_of_each_message": prefixes,
        "note": "no hint unless stated; dev set only",
        "first_1_to_5_words_overall": {"k": total_right, "n": total,
                                       "rate": round(total_right / total, 4) if total else None},
    }


def latency(items: Sequence[Labelled]) -> Dict[str, Any]:
    triage = detector("combined")
    triage.assess("warm up")
    times = []
    for item in items:
        started = time.perf_counter()
        triage.assess(item.text, item.language)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"messages": len(times), "median_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
            "max_ms": round(times[-1], 3)}


def counts(items: Sequence[Labelled]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for item in items:
        for key in (f"{item.language}/{item.level}", item.level, item.language):
            out[key] = out.get(key, 0) + 1
    out["hedged"] = sum(i.hedged for i in items)
    out["buried"] = sum(i.buried for i in items)
    return dict(sorted(out.items()))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", type=Path, nargs="+", default=DEFAULT_TESTS)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--no-dev", action="store_true", help="skip the dev-set figures")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model = shared_classifier()  # first use: load the training data and fit
    first_use = time.perf_counter() - started
    tests = load_set(args.test)
    report: Dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "git": git_commit(),
        "thresholds": dict(detector("combined").thresholds),
        "classifier": {"fit_seconds": round(model.fit_seconds, 2) if model else None,
                       "first_use_seconds": round(first_use, 2),
                       "categories": len(model.categories) if model else 0},
        "kb_vocabulary": detector("patterns").vocabulary.kb_fingerprint,
        "test": {"files": [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
                           for p in args.test],
                 "counts": counts(tests), **evaluate(tests)},
    }
    print(f"TEST SETS ({', '.join(report['test']['files'])}): {len(tests)} messages")
    for mode in MODES:
        print()
        print(table(report["test"][mode]["figures"], f"== test, {mode} =="))
    print()
    for mode in MODES:
        met = report["test"][mode]["targets"]
        print(f"targets ({mode}): " + ", ".join(
            f"{name} {100 * v['rate']:.1f}% {'met' if v['met'] else 'NOT met'}"
            for name, v in met.items() if v["rate"] is not None))

    if not args.no_dev and args.dev.exists():
        dev = load_set([args.dev])
        report["dev"] = {
            "file": str(args.dev.relative_to(ROOT)) if args.dev.is_relative_to(ROOT)
            else str(args.dev),
            "note": "used for pattern error analysis and threshold tuning: optimistic",
            "counts": counts(dev), **evaluate(dev)}
        report["language_detection"] = language_accuracy(dev)
        print()
        print(table(report["dev"]["combined"]["figures"],
                    "== dev (tuning set, optimistic), combined =="))
        for mode in MODES:
            met = report["dev"][mode]["targets"]
            print(f"dev targets ({mode}): " + ", ".join(
                f"{name} {100 * v['rate']:.1f}%" for name, v in met.items()
                if v["rate"] is not None))
        language = report["language_detection"]
        print(f"\nlanguage detector on dev messages of 1-5 words: "
              f"{language['messages_of_1_to_5_words']}; first 1-5 words of each dev "
              f"message: {language['first_1_to_5_words_overall']}")
    ordinary: Dict[str, Any] = {}
    combined = detector("combined")
    for language, path in ORDINARY_TESTS.items():
        if path.exists():
            questions = load_ordinary_questions([path])
            ordinary[language] = false_alarm_rate(predictions(combined, questions))
    report["ordinary_questions_false_alarms"] = {
        "files": [str(p.relative_to(ROOT)) for p in ORDINARY_TESTS.values() if p.exists()],
        "note": "NLU test messages that are preparation questions (no symptom report): "
                "answered with an alarm instead of the answer",
        **ordinary}
    print("\nordinary questions answered as an alarm (combined, NLU test sets): " + ", ".join(
        f"{language} {v['k']}/{v['n']} ({100 * (v['rate'] or 0):.1f}%)"
        for language, v in ordinary.items()))
    report["latency_ms"] = latency(tests)
    print(f"\nassess() per message (combined, one at a time): {report['latency_ms']}")
    report["wall_seconds"] = round(time.perf_counter() - started, 1)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
