"""README "Adding a topic" is true: one registry entry, NLU examples and the answer texts are all
a new topic needs. The steps below are the README's, applied to a copy of the repository's KB.

The walkthrough topic is "can I shower after?" as its own topic `shower` (the shipped KB answers
it inside `recovery`, so the copy gets a second, separate topic; nothing else is touched).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from actions.conversation.engine import respond
from actions.conversation.turn import State, Turn
from actions.kb.builder import build_database
from actions.kb.export import stale_files, write_files
from actions.kb.loader import load_kb
from actions.kb.snapshot import build_snapshot

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.timezone.utc)

# Step 1 of the README: the registry entry (data/kb/topics.yml, under `topics:`).
REGISTRY_ENTRY = """
    - id: shower
      intent: ask_shower
      answers:
        - key: shower.main
        - key: shower.swimming
          cues:
            en: [swim, swimming, pool, bath, hot tub, jacuzzi]
            es: [nadar, piscina, bañera, bano, baño, jacuzzi]
"""
# Step 2: the texts (a new file data/kb/texts/en/shower.yml; Spanish the same way).
TEXTS = """texts:
  - key: shower.main
    short: "You can usually shower the next day. Keep the plasters dry for the first 24 hours."
    detail: "Pat the needle sites dry. The clinic tells you when the plasters can come off."
    source: "Clinic protocol (README walkthrough example)"
    evidence: clinic
    reviewed_by: "Walkthrough reviewer"
    reviewed_on: 2026-12-01
    status: approved
  - key: shower.swimming
    short: "Please avoid baths, pools and hot tubs for a few days; a shower is fine."
    source: "Clinic protocol (README walkthrough example)"
    evidence: clinic
    reviewed_by: "Walkthrough reviewer"
    reviewed_on: 2026-12-01
    status: approved
  - key: label.shower
    short: "Showering after"
    source: "Assistant wording (button label)"
    evidence: clinic
    reviewed_by: "Walkthrough reviewer"
    reviewed_on: 2026-12-01
    status: approved
  - key: question.shower
    short: "When can I shower after the procedure?"
    source: "Assistant wording (quick-reply message for the topic)"
    evidence: clinic
    reviewed_by: "Walkthrough reviewer"
    reviewed_on: 2026-12-01
    status: approved
"""


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository copy with the README's three additions (KB, domain base, NLU examples)."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "data" / "kb", root / "data" / "kb")
    (root / "bot").mkdir()
    shutil.copy(REPO / "bot" / "domain_base.yml", root / "bot" / "domain_base.yml")
    registry = root / "data" / "kb" / "topics.yml"
    text = registry.read_text("utf-8")
    anchor = "  topics:\n"
    assert anchor in text
    registry.write_text(text.replace(anchor, anchor + REGISTRY_ENTRY.lstrip("\n"), 1), "utf-8")
    (root / "data" / "kb" / "texts" / "en" / "shower.yml").write_text(TEXTS, "utf-8")
    return root


def test_the_new_topic_passes_the_kb_check_and_reaches_every_generated_file(copy: Path) -> None:
    content, problems = load_kb(copy / "data" / "kb")
    assert content is not None and not problems, problems
    assert "ask_shower" in content.registry.all_intents
    assert stale_files(content, copy), "make generate must have something to write"
    write_files(content, copy)  # step 3: make generate
    domain = yaml.safe_load((copy / "domain.yml").read_text("utf-8"))
    assert "ask_shower" in domain["intents"]
    rules = yaml.safe_load((copy / "data" / "rules" / "generated_topics.yml").read_text("utf-8"))
    steps = [rule["steps"] for rule in rules["rules"]]
    assert [{"intent": "ask_shower"}, {"action": "action_respond"}] in steps
    vocabulary = json.loads((copy / "bot" / "generated" / "kb_vocabulary.json").read_text("utf-8"))
    # a question topic: the gate may give a tentative crisis worded as it the one-line check;
    # a feeling (the anxiety topic) never
    assert "ask_shower" in vocabulary["question_intents"]
    assert "express_anxiety" not in vocabulary["question_intents"]
    assert not stale_files(content, copy)


def test_the_assistant_answers_the_new_topic_and_its_cue(copy: Path, tmp_path: Path) -> None:
    content, problems = load_kb(copy / "data" / "kb")
    assert content is not None, problems
    engine = create_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    build_database(content, engine, str(copy / "data" / "kb"))
    with sessionmaker(engine)() as session:
        kb = build_snapshot(session)
    general = respond(kb, Turn("can I shower after?", "en", "ask_shower", 0.9), State(),
                      NOW)
    assert general.messages[0].text.startswith("You can usually shower the next day")
    assert "text.en.shower.main" in general.messages[0].entries  # provenance: the KB entry
    swim = respond(kb, Turn("and swimming?", "en", "ask_shower", 0.9), general.state,
                   NOW)
    assert "pools" in swim.messages[0].text
    # Spanish has no text yet: the English one with the "not translated yet" note.
    spanish = respond(kb, Turn("¿me puedo duchar después?", "es", "ask_shower", 0.9), State(),
                      NOW)
    assert "You can usually shower" in " ".join(m.text for m in spanish.messages)


def test_a_missing_label_is_named_by_the_check(copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "kb"
    shutil.copytree(copy / "data" / "kb", broken)
    texts = broken / "texts" / "en" / "shower.yml"
    texts.write_text(TEXTS.split("  - key: label.shower")[0], "utf-8")
    content, problems = load_kb(broken)
    assert content is None
    assert any("label.shower" in str(problem) for problem in problems)
