"""NLU benchmark (`make bench-nlu`): train on data/nlu, measure on the dev and held-out sets.

Trains an NLU model from config.yml on data/nlu (both languages) with
`rasa.model_training.train_nlu`, loads it with `Agent.load` and parses every message of
eval/nlu/dev_<lang>.yml and eval/nlu/test_<lang>.yml exactly as the server does (the whole
pipeline: LanguageTagger, PrepEntityExtractor, TopicClassifier, GateVerdictTagger) with the
safety gate's verdict in the metadata, as the server does, and no language metadata, so the
language is detected as for a patient's first message. The latency per message excludes the
gate's triage (bench/results/triage.json times it).

Reported per set: intent accuracy (a multi-question message counts as right when its primary
(first) intent is right; separately, the exact ordered list of topics), accuracy on the
messages that do not also occur verbatim in the training data, per-intent precision / recall /
F1, accuracy per tag (typo, sms_style, carer, two_words...), the most frequent confusion pairs
(counts only), fallback rate, language detection (all messages and 1-5-word messages), and the
train time, model load time and latency per message. For the dev sets it also sweeps the
fallback threshold and lists the errors in results/nlu_dev_errors.txt (results/ is not
committed). The held-out test sets are only ever aggregated: no test message is printed or
written anywhere.

`--candidates` also trains every config in bench/nlu_candidates/*.yml and measures it on the
dev sets only (the figures the choice of classifier rests on). Results:
bench/results/nlu.json with the date and the machine (nproc, CPU, RAM, python, git commit).
Targets (issues 12 and 14): EN >= 97 %, ES >= 95 % on the test sets; reported, not asserted.

The metric functions at the top are pure (no Rasa import): tests/bot/test_bench_nlu.py.
"""

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = "config.yml"
DEFAULT_DATA = "data/nlu"
DEFAULT_OUTPUT = "bench/results/nlu.json"
DEV_ERRORS = "results/nlu_dev_errors.txt"
CANDIDATES_DIR = "bench/nlu_candidates"
LANGUAGES = ("en", "es")
SETS = {
    "dev": "eval/nlu/dev_{lang}.yml",
    # a second blind dev set (another author, written after "dev" had been tuned on)
    "dev3": "eval/nlu/dev3_{lang}.yml",
    # a third (round 6): written after dev3 had been used to choose training data
    "dev4": "eval/nlu/dev4_{lang}.yml",
    # a fourth (round 9): written blind after dev4 had been used
    "dev5": "eval/nlu/dev5_{lang}.yml",
    "dev6": "eval/nlu/dev6_{lang}.yml",
    "dev7": "eval/nlu/dev7_{lang}.yml",
    "test": "eval/nlu/test_{lang}.yml",
}
TARGETS = {"en": 0.97, "es": 0.95}
FALLBACK_INTENT = "nlu_fallback"
TOPIC_ENTITY = "topic"
LANGUAGE_ENTITY = "language"
SHORT_MAX_WORDS = 5
CONFUSIONS_SHOWN = 15
SWEEP = tuple(round(0.05 * step, 2) for step in range(0, 11))  # 0.00 ... 0.50


# ---------------------------------------------------------------------------- pure metrics
def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Share of equal pairs (0.0 for no pairs)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    return sum(g == p for g, p in zip(gold, predicted, strict=False)) / len(gold) if gold else 0.0


def per_label_scores(
    gold: Sequence[str], predicted: Sequence[str]
) -> Dict[str, Dict[str, float]]:
    """Precision, recall, F1 and support of every gold label."""
    scores: Dict[str, Dict[str, float]] = {}
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=False))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=False))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=False))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    return scores


def confusion_pairs(
    gold: Sequence[str], predicted: Sequence[str], top: int = CONFUSIONS_SHOWN
) -> List[Dict[str, Any]]:
    """The most frequent (gold, predicted) pairs that differ, with counts only."""
    counts = Counter((g, p) for g, p in zip(gold, predicted, strict=False) if g != p)
    return [
        {"gold": g, "predicted": p, "count": n}
        for (g, p), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    ]


def per_tag_accuracy(
    tags: Sequence[Sequence[str]], correct: Sequence[bool]
) -> Dict[str, Dict[str, float]]:
    """Accuracy of the messages carrying each tag."""
    totals: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for message_tags, ok in zip(tags, correct, strict=False):
        for tag in message_tags:
            totals[tag][0] += 1
            totals[tag][1] += int(ok)
    return {
        tag: {"n": n, "accuracy": round(right / n, 4)}
        for tag, (n, right) in sorted(totals.items())
    }


def language_scores(
    expected: str, detected: Sequence[Optional[str]]
) -> Dict[str, float]:
    """Coverage (tagged at all), accuracy (right among all) and precision (right among tagged)."""
    n = len(detected)
    tagged = [d for d in detected if d is not None]
    right = sum(d == expected for d in tagged)
    return {
        "n": n,
        "coverage": round(len(tagged) / n, 4) if n else 0.0,
        "accuracy": round(right / n, 4) if n else 0.0,
        "precision": round(right / len(tagged), 4) if tagged else 0.0,
    }


def fallback_sweep(
    gold: Sequence[str], predicted: Sequence[str], confidence: Sequence[float],
    thresholds: Iterable[float] = SWEEP,
) -> List[Dict[str, float]]:
    """For each threshold: fallback rate, accuracy when answered, wrong answers given."""
    rows = []
    n = len(gold)
    for threshold in thresholds:
        answered = [
            (g, p) for g, p, c in zip(gold, predicted, confidence, strict=True) if c >= threshold
        ]
        right = sum(g == p for g, p in answered)
        rows.append(
            {
                "threshold": threshold,
                "fallback_rate": round(1 - len(answered) / n, 4) if n else 0.0,
                "accuracy_answered": round(right / len(answered), 4) if answered else 0.0,
                "wrong_answers": len(answered) - right,
                "accuracy_overall": round(right / n, 4) if n else 0.0,
            }
        )
    return rows


def text_key(text: str) -> str:
    """Case, accents, punctuation and spacing ignored (as the data test does)."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[^\w]+", " ", text).strip()


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


# ---------------------------------------------------------------------------- data
def load_set(path: Path) -> List[Dict[str, Any]]:
    """Messages of an NLU set (formats.md): text, intents (ordered), tags."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    messages = []
    for item in data.get("messages") or []:
        intents = item.get("intents") or [item.get("intent")]
        messages.append(
            {"text": str(item["text"]), "intents": [str(i) for i in intents],
             "tags": [str(t) for t in item.get("tags") or []]}
        )
    return messages


def training_keys(data_dir: Path) -> Set[str]:
    import yaml

    keys = set()
    for path in data_dir.rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    keys.add(text_key(line.strip()[2:]))
    return keys


def machine() -> Dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
            check=False,
        ).stdout.strip()
        dirty = bool(subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "config.yml", "data/nlu"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=False,
        ).stdout.strip())
    except OSError:
        commit, dirty = "", False
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "git_commit": commit + ("+uncommitted" if dirty else ""),
    }


# ---------------------------------------------------------------------------- running
def train(config: Path, data: Path, out_dir: Path, name: str) -> Tuple[str, float]:
    from rasa.model_training import train_nlu

    start = time.perf_counter()
    model = train_nlu(str(config), str(data), str(out_dir), fixed_model_name=name)
    if not model:
        raise RuntimeError(f"training with {config} produced no model")
    return str(model), time.perf_counter() - start


def cold_load_seconds(model_path: str) -> float:
    """Agent.load in a fresh interpreter, imports excluded (what a server restart waits for
    once Rasa itself is imported)."""
    code = (
        "import time, logging, warnings; warnings.filterwarnings('ignore');"
        "logging.disable(logging.WARNING);"
        "from rasa.core.agent import Agent;"
        f"t = time.perf_counter(); Agent.load({model_path!r}); print(time.perf_counter() - t)"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
        check=False, env=env,
    )
    try:
        return float(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return float("nan")


def gate_verdicts(texts: Sequence[str]) -> List[Dict[str, Any]]:
    """The "triage" metadata the safety gate gives the NLU for each text, as on the server
    (bot/safety/gate.py): its verdict, and "routine" for a tentative crisis, which the gate
    sends on to be answered after its crisis reply (a first message: no alarm before it)."""
    from bot.safety.gate import is_tentative, triage_metadata
    from bot.safety.triage import Triage

    verdicts = Triage().assess_many(list(texts))
    return [{"level": "routine"} if verdict.level == "routine" or is_tentative(verdict)
            else triage_metadata(verdict, "") for verdict in verdicts]


async def parse_all(agent: Any, texts: Sequence[str]) -> Tuple[List[Dict[str, Any]], List[float]]:
    """Parse each text as the server does after the gate (its verdict in the metadata)."""
    from rasa.core.channels.channel import UserMessage

    parsed, latencies = [], []
    for text, verdict in zip(texts, gate_verdicts(texts), strict=True):
        start = time.perf_counter()
        message = UserMessage(text, metadata={"triage": verdict})
        parsed.append(await agent.processor.parse_message(message))
        latencies.append((time.perf_counter() - start) * 1000)
    return parsed, latencies


def prediction(parsed: Mapping[str, Any]) -> Dict[str, Any]:
    intent = (parsed.get("intent") or {})
    entities = parsed.get("entities") or []
    topics = [e["value"] for e in sorted(
        (e for e in entities if e.get("entity") == TOPIC_ENTITY), key=lambda e: e["start"])]
    language = next((e["value"] for e in entities if e.get("entity") == LANGUAGE_ENTITY), None)
    name = str(intent.get("name"))
    confidence = float(intent.get("confidence") or 0.0)
    raw = (name, confidence)
    if name == FALLBACK_INTENT:
        ranked = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != name]
        if ranked:
            raw = (str(ranked[0]["name"]), float(ranked[0]["confidence"]))
    return {
        "intent": name,
        "confidence": confidence,
        "raw_intent": raw[0],
        "raw_confidence": raw[1],
        "topics": topics or [name],
        "language": language,
    }


def evaluate(
    messages: List[Dict[str, Any]], predictions: List[Dict[str, Any]], language: str,
    seen: Set[str], latencies: List[float], with_confusions: bool,
) -> Dict[str, Any]:
    gold = [m["intents"][0] for m in messages]
    predicted = [p["intent"] for p in predictions]
    correct = [g == p for g, p in zip(gold, predicted, strict=False)]
    multi = [i for i, m in enumerate(messages) if len(m["intents"]) > 1]
    unseen = [i for i, m in enumerate(messages) if text_key(m["text"]) not in seen]
    short = [i for i, m in enumerate(messages) if len(m["text"].split()) <= SHORT_MAX_WORDS]
    single = [i for i in range(len(messages)) if i not in set(multi)]
    result: Dict[str, Any] = {
        "n": len(messages),
        "accuracy": round(accuracy(gold, predicted), 4),
        "n_unseen": len(unseen),
        "accuracy_unseen": round(sum(correct[i] for i in unseen) / len(unseen), 4)
        if unseen else 0.0,
        "multi_question": {
            "n": len(multi),
            "primary_accuracy": round(sum(correct[i] for i in multi) / len(multi), 4)
            if multi else 0.0,
            "exact_topics": round(
                sum(predictions[i]["topics"] == messages[i]["intents"] for i in multi)
                / len(multi), 4) if multi else 0.0,
            "single_messages_split": sum(
                len(predictions[i]["topics"]) > 1 for i in single),
        },
        "fallback_rate": round(predicted.count(FALLBACK_INTENT) / len(predicted), 4)
        if predicted else 0.0,
        "per_intent": per_label_scores(gold, predicted),
        "per_tag": per_tag_accuracy([m["tags"] for m in messages], correct),
        "language_detection": {
            "all": language_scores(language, [p["language"] for p in predictions]),
            f"1_to_{SHORT_MAX_WORDS}_words": language_scores(
                language, [predictions[i]["language"] for i in short]),
        },
        "latency_ms": {
            "mean": round(sum(latencies) / len(latencies), 2) if latencies else 0.0,
            "p95": round(percentile(latencies, 0.95), 2),
        },
        "target": TARGETS.get(language),
    }
    result["target_met"] = result["accuracy"] >= TARGETS.get(language, 0.0)
    if with_confusions:
        result["confusions"] = confusion_pairs(gold, predicted)
    return result


def run_config(
    config: Path, data: Path, set_names: Sequence[str], work: Path, name: str,
    errors_out: Optional[Path] = None,
) -> Dict[str, Any]:
    from rasa.core.agent import Agent

    model, train_s = train(config, data, work, name)
    start = time.perf_counter()
    agent = Agent.load(model)
    load_s = time.perf_counter() - start
    seen = training_keys(data)
    results: Dict[str, Any] = {
        "config": str(config), "train_s": round(train_s, 1), "load_s": round(load_s, 2),
        "cold_load_s": round(cold_load_seconds(model), 2), "sets": {},
    }
    error_lines: List[str] = []
    # warm-up: the first parse builds lazy parts (lingua)
    asyncio.run(parse_all(agent, ["hello", "hola"]))
    for set_name in set_names:
        for language in LANGUAGES:
            path = REPO_ROOT / SETS[set_name].format(lang=language)
            if not path.is_file():
                print(f"  (no {path.relative_to(REPO_ROOT)}; skipped)")
                continue
            messages = load_set(path)
            parsed, latencies = asyncio.run(parse_all(agent, [m["text"] for m in messages]))
            predictions = [prediction(p) for p in parsed]
            key = f"{set_name}_{language}"
            result = evaluate(
                messages, predictions, language, seen, latencies,
                with_confusions=True,
            )
            if set_name.startswith("dev"):
                result["fallback_sweep"] = fallback_sweep(
                    [m["intents"][0] for m in messages],
                    [p["raw_intent"] for p in predictions],
                    [p["raw_confidence"] for p in predictions],
                )
                for m, p in zip(messages, predictions, strict=False):
                    if p["intent"] != m["intents"][0] or (
                        len(m["intents"]) > 1 and p["topics"] != m["intents"]):
                        error_lines.append(
                            f"{key}\tgold={'+'.join(m['intents'])}\tpred={'+'.join(p['topics'])}"
                            f"\t{p['confidence']:.2f}\tlang={p['language']}\t{m['text']}"
                        )
            results["sets"][key] = result
    if errors_out is not None:
        errors_out.parent.mkdir(parents=True, exist_ok=True)
        errors_out.write_text("\n".join(error_lines) + "\n", encoding="utf-8")
    return results


def history(previous: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Earlier runs' headline figures (kept so a result is never silently replaced)."""
    runs = list(previous.get("history") or [])
    main = previous.get("main") or {}
    if main.get("sets"):
        runs.append({
            "date": previous.get("date"),
            "git_commit": (previous.get("machine") or {}).get("git_commit"),
            "accuracy": {key: r.get("accuracy") for key, r in main["sets"].items()},
            "exact_topics": {key: r.get("multi_question", {}).get("exact_topics")
                             for key, r in main["sets"].items()},
        })
    return runs


# ---------------------------------------------------------------------------- report
def print_table(title: str, results: Dict[str, Any]) -> None:
    print(f"\n{title}  (train {results['train_s']} s, load {results['load_s']} s, "
          f"cold load {results['cold_load_s']} s)")
    header = (f"{'set':8} {'n':>4} {'acc':>6} {'unseen':>6} {'multi1':>6} {'exact':>6} "
              f"{'fallbk':>6} {'lang':>6} {'lang<=5':>7} {'ms':>6} {'target':>7}")
    print(header)
    print("-" * len(header))
    for key, r in results["sets"].items():
        lang_short = r["language_detection"][f"1_to_{SHORT_MAX_WORDS}_words"]
        target = "" if not key.startswith("test") else ("met" if r["target_met"] else "NOT met")
        print(f"{key:8} {r['n']:>4} {r['accuracy']:>6.3f} {r['accuracy_unseen']:>6.3f} "
              f"{r['multi_question']['primary_accuracy']:>6.3f} "
              f"{r['multi_question']['exact_topics']:>6.3f} {r['fallback_rate']:>6.3f} "
              f"{r['language_detection']['all']['accuracy']:>6.3f} "
              f"{lang_short['accuracy']:>7.3f} {r['latency_ms']['mean']:>6.1f} {target:>7}")


def print_details(results: Dict[str, Any]) -> None:
    for key, r in results["sets"].items():
        weak = [(label, s["f1"], s["support"]) for label, s in r["per_intent"].items()
                if s["f1"] < 0.95]
        print(f"\n{key}: intents with F1 < 0.95: "
              + (", ".join(f"{label} {f1:.2f} (n={n})" for label, f1, n in weak) or "none"))
        print(f"{key}: tags: " + ", ".join(
            f"{tag} {v['accuracy']:.2f} (n={v['n']})" for tag, v in r["per_tag"].items()))
        print(f"{key}: confusions: " + ", ".join(
            f"{c['gold']}->{c['predicted']} x{c['count']}" for c in r.get("confusions", [])[:8]))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--out", default=DEFAULT_OUTPUT)
    parser.add_argument("--sets", default="dev,dev3,dev4,dev5,dev6,dev7,test",
                        help="comma-separated: dev,dev3,dev4,dev5,dev6,dev7,test")
    parser.add_argument("--candidates", nargs="?", const="*", default=None, metavar="GLOB",
                        help=f"also measure {CANDIDATES_DIR}/GLOB.yml (default all) on dev")
    parser.add_argument("--no-main", action="store_true",
                        help="only the candidates; keep the main results already in --out")
    args = parser.parse_args(argv)

    os.chdir(REPO_ROOT)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # custom components: bot.nlu.*
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    out = Path(args.out)
    previous: Dict[str, Any] = {}
    if out.is_file():
        try:
            previous = json.loads(out.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    report: Dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "targets": TARGETS,
        "note": "test sets: aggregates only; accuracy counts a multi-question message as "
                "right when its first intent is right (exact_topics: the whole ordered list)",
    }
    with tempfile.TemporaryDirectory(prefix="bench_nlu_") as tmp:
        work = Path(tmp)
        # a fresh training cache, so the train time is a real one
        os.environ["RASA_CACHE_DIRECTORY"] = str(work / "cache")
        sets = [s for s in args.sets.split(",") if s in SETS]
        if args.no_main and previous.get("main"):
            report = {**previous, "candidates_date": report["date"]}
        else:
            report["history"] = history(previous)
            print(f"Training {args.config} on {args.data} ...", flush=True)
            main_results = run_config(Path(args.config), Path(args.data), sets, work, "main",
                                      errors_out=Path(DEV_ERRORS))
            report["main"] = main_results
            print_table(f"config {args.config}", main_results)
            print_details(main_results)
        candidates = dict(previous.get("candidates") or {})
        if args.candidates:
            for path in sorted(Path(CANDIDATES_DIR).glob(f"{args.candidates}.yml")):
                print(f"\nCandidate {path} (dev sets only) ...", flush=True)
                try:
                    result = run_config(path, Path(args.data), ["dev"], work, path.stem)
                except Exception as error:  # noqa: BLE001 - one broken candidate is reported
                    candidates[path.stem] = {"config": str(path), "error": repr(error)}
                    print(f"  failed: {error!r}")
                    continue
                result["date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                result["python_env"] = sys.prefix
                candidates[path.stem] = result
                print_table(f"candidate {path.stem}", result)
        report["candidates"] = candidates
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nWrote {out} (dev errors: {DEV_ERRORS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
