"""`make kb-check` fails on a patient-facing sentence typed into code (actions/kb/literals.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from actions.kb.literals import looks_like_sentence, main, scan

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The code the check scans, copied."""
    for folder in ("bot", "common", "actions", "web"):
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "generated"))
    shutil.copy(REPO / "domain.yml", tmp_path / "domain.yml")
    return tmp_path


def test_the_shipped_code_has_no_patient_facing_sentence() -> None:
    assert scan(REPO) == []
    assert main([str(REPO)]) == 0


def test_a_sentence_planted_in_python_is_found(copy: Path) -> None:
    target = copy / "bot" / "channels" / "webchat.py"
    planted = '\nNOTE = "Please call the clinic before you come in."\n'
    target.write_text(target.read_text("utf-8") + planted, "utf-8")
    findings = scan(copy)
    assert [f.path for f in findings] == ["bot/channels/webchat.py"]
    assert main([str(copy)]) == 1


def test_a_sentence_planted_in_the_widget_or_the_domain_is_found(copy: Path) -> None:
    widget = copy / "web" / "widget.js"
    planted = '\nvar hint = "You can stop eating six hours before.";\n'
    widget.write_text(widget.read_text("utf-8") + planted, "utf-8")
    domain = copy / "domain.yml"
    domain.write_text(domain.read_text("utf-8").replace(
        "- text: '{triage_text}'", "- text: 'Call the clinic if you feel unwell.'"), "utf-8")
    assert {f.path for f in scan(copy)} == {"web/widget.js", "domain.yml"}


def test_logs_docstrings_and_marked_lines_are_not_patient_facing(copy: Path) -> None:
    target = copy / "actions" / "respond.py"
    target.write_text(target.read_text("utf-8") + (
        '\n\ndef _example() -> None:\n    """This docstring explains why it exists."""\n'
        '    logger.info("the assistant answered the patient quickly")\n'
        '    x = "a sentence for staff only here"  # not patient-facing: an example\n'), "utf-8")
    assert scan(copy) == []


@pytest.mark.parametrize("text, sentence", [
    ("Please call the clinic.", True),
    ("Messages can be at most 2000 characters.", True),
    ("application/json", False),
    ("web.cannot_answer", False),
    ("Forbidden", False),
    ("SELECT * FROM events", False),
])
def test_what_reads_like_a_sentence(text: str, sentence: bool) -> None:
    assert looks_like_sentence(text) is sentence
