"""The evaluation sets stay out of training: no eval message appears in the training data.

Why: every accuracy figure the README quotes is measured on eval/ (eval/README.md). A test
message copied into data/nlu, data/triage or the stories would inflate those figures silently.
This compares normalised texts (case, accents, punctuation and spacing ignored), so a copy with
a changed capital or a dropped accent is still caught.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EVAL = REPO / "eval"
TRAINING_DIRS = (REPO / "data" / "nlu", REPO / "data" / "triage", REPO / "data" / "stories",
                 REPO / "data" / "rules")
_ENTITY = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
MIN_WORDS = 4  # "yes", "no thanks", "and water?" are everyday replies, not copied examples


def normalise(text: str) -> str:
    """Lower case, no accents, no entity markup, only letters and digits between spaces."""
    text = _ENTITY.sub(r"\1", text)
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _strings(node: Any, keys: tuple[str, ...]) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                yield value
            else:
                yield from _strings(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, keys)


def eval_messages() -> set[str]:
    """Every patient message of every evaluation set, normalised."""
    found: set[str] = set()
    for path in sorted(EVAL.rglob("*.yml")):
        document = yaml.safe_load(path.read_text("utf-8"))
        for text in _strings(document, ("text", "user")):
            normalised = normalise(text)
            if len(normalised.split()) >= MIN_WORDS:
                found.add(normalised)
    return found


def training_messages() -> Iterator[tuple[Path, str]]:
    """Every example in the training data: NLU example lines, triage texts, story user turns."""
    for directory in TRAINING_DIRS:
        for path in sorted(directory.rglob("*.yml")):
            document = yaml.safe_load(path.read_text("utf-8")) or {}
            for block in document.get("nlu", []) or []:
                for line in str(block.get("examples", "")).splitlines():
                    if line.strip().startswith("- "):
                        yield path, line.strip()[2:]
            for text in _strings({k: v for k, v in document.items() if k != "nlu"},
                                 ("text", "user")):
                yield path, text


def test_the_evaluation_sets_exist() -> None:
    assert len(eval_messages()) > 2000


def test_no_training_example_repeats_an_evaluation_message() -> None:
    held_out = eval_messages()
    copies = sorted({f"{path.relative_to(REPO)}: {text}"
                     for path, text in training_messages() if normalise(text) in held_out})
    assert not copies, "evaluation messages found in training data:\n" + "\n".join(copies[:20])


@pytest.mark.parametrize("text, same", [
    ("Can I drink WATER before?", "can i drink water before"),
    ("¿Puedo beber agua antes?", "puedo beber agua antes"),
    ("can i take [Eliquis](drug) today", "can i take eliquis today"),
])
def test_normalising_ignores_case_accents_and_markup(text: str, same: str) -> None:
    assert normalise(text) == same
