"""Tune the triage classifier's thresholds on the DEVELOPMENT sets only (eval/triage/dev*.yml).

    .venv/bot/bin/python scripts/tune_triage.py [--dev FILE ...] [--max-false-alarms 0.06]
    .venv/bot/bin/python scripts/tune_triage.py --misses   # the whole detector's dev errors

For every combination of per-level thresholds (emergency, crisis, urgent) on a grid, the
classifier alone is scored on the dev set; the combination kept is the one with the highest
emergency+crisis recall whose routine false alarms stay at most --max-false-alarms (leaving
room for the patterns' own false alarms), then the best crisis-line and urgent-routing
figures, the fewest false alarms, then the highest thresholds. The classifier must also leave
the ordinary questions of the NLU dev sets alone (--max-ordinary-false-alarms). Thresholds below
--min-threshold (0.10) are not tried: on a 350-message set they only fit single messages.
Copy the printed values into DEFAULT_THRESHOLDS in bot/safety/triage.py.
The test sets are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.safety.classifier import decide  # noqa: E402
from bot.safety.evaluation import (  # noqa: E402
    Labelled,
    Predicted,
    caught,
    figures,
    load_ordinary_questions,
    load_set,
)
from bot.safety.rules import SELF_HARM_CATEGORIES  # noqa: E402
from bot.safety.triage import Triage, shared_classifier  # noqa: E402

GRID = [round(0.05 * i, 2) for i in range(1, 13)]  # 0.05 .. 0.60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, nargs="+",
                        default=sorted((ROOT / "eval" / "triage").glob("dev*.yml")))
    parser.add_argument("--misses", action="store_true",
                        help="list the combined detector's errors on the dev sets and stop")
    parser.add_argument("--max-false-alarms", type=float, default=0.06)
    parser.add_argument("--min-threshold", type=float, default=0.10)
    parser.add_argument("--max-ordinary-false-alarms", type=float, default=0.02,
                        help="on the NLU dev sets' ordinary questions (eval/nlu/dev_*.yml)")
    args = parser.parse_args()
    if any("test" in path.name for path in args.dev):
        parser.error("thresholds are tuned on the development sets, never on a test set")

    items = load_set(args.dev)
    if args.misses:
        return show_misses(items)
    model = shared_classifier()
    if model is None:
        print("classifier could not be fitted", file=sys.stderr)
        return 1
    scores = model.scores_many([i.text for i in items])
    ordinary = load_ordinary_questions(sorted((ROOT / "eval" / "nlu").glob("dev*_*.yml")))
    ordinary_scores = model.scores_many([i.text for i in ordinary])
    ranked: List[Tuple[Tuple[float, ...], Dict[str, float], Dict[str, float]]] = []
    grid = [t for t in GRID if t >= args.min_threshold - 1e-9]
    for emergency, crisis, urgent in itertools.product(grid, grid, grid):
        thresholds = {"emergency": emergency, "crisis": crisis, "urgent": urgent}
        predictions = []
        for s in scores:
            level, category = decide(s, thresholds)
            crisis_line = level == "crisis" or (level == "emergency" and (
                category in SELF_HARM_CATEGORIES
                or s.level_probabilities.get("crisis", 0.0) >= crisis))
            predictions.append(Predicted(level, crisis_line, category))
        result = figures(items, predictions)
        summary = {name: result[name]["all"]["rate"] for name in
                   ("emergency_crisis_recall", "crisis_line", "urgent_routed",
                    "routine_false_alarms")}
        everyday = sum(decide(s, thresholds)[0] != "routine" for s in ordinary_scores)
        summary["ordinary_false_alarms"] = everyday / max(1, len(ordinary))
        if summary["routine_false_alarms"] > args.max_false_alarms or \
                summary["ordinary_false_alarms"] > args.max_ordinary_false_alarms:
            continue
        key = (summary["emergency_crisis_recall"], summary["crisis_line"],
               summary["urgent_routed"], -summary["routine_false_alarms"],
               emergency + crisis + urgent)
        ranked.append((key, thresholds, summary))
    if not ranked:
        print("no thresholds keep the false alarms that low", file=sys.stderr)
        return 1
    ranked.sort(key=lambda item: item[0], reverse=True)
    print(f"dev set: {len(items)} messages + {len(ordinary)} ordinary questions; classifier "
          f"alone; false alarms <= {args.max_false_alarms:.0%}, on ordinary questions <= "
          f"{args.max_ordinary_false_alarms:.0%}")
    for _, thresholds, summary in ranked[:10]:
        print(thresholds, {k: round(v, 4) for k, v in summary.items()})
    print("chosen:", ranked[0][1])
    return 0


def show_misses(items: List[Labelled]) -> int:
    """Every dev message the whole detector (patterns + classifier) gets wrong: for error
    analysis of the general cause, never for copying a message into the training data."""
    verdicts = Triage().assess_many([i.text for i in items], [i.language for i in items])
    wrong = 0
    for item, verdict in zip(items, verdicts, strict=True):
        predicted = Predicted(verdict.level, verdict.shows_crisis_line, verdict.category)
        if not caught(item, predicted):
            wrong += 1
            print(f"{item.language}\t{item.level}/{item.category}\t-> {verdict.level}/"
                  f"{verdict.category}\t{';'.join(verdict.reasons)}\t{item.text}")
    print(f"{wrong} of {len(items)} dev messages wrong")
    return 0


if __name__ == "__main__":
    sys.exit(main())
