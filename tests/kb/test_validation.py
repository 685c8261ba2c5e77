"""Every way a clinician's edit can be wrong gets one clear line: file, entry id, problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from actions.kb.loader import Problem, load_kb

REPO = Path(__file__).resolve().parents[2]


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    document = yaml.safe_load(path.read_text("utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")


def _entry(document: dict, section: str, entry_id: str) -> dict:  # type: ignore[type-arg]
    return next(e for e in document[section] if e["id"] == entry_id)


def _problems(kb_dir: Path) -> list[Problem]:
    content, problems = load_kb(kb_dir)
    assert content is None, "expected the KB to be rejected"
    return problems


def _one_matching(problems: list[Problem], file: str, entry_id: str, fragment: str) -> Problem:
    matches = [p for p in problems if p.file == file and p.entry_id == entry_id
               and fragment in p.message]
    assert matches, "no problem like that in:\n" + "\n".join(map(str, problems))
    return matches[0]


def test_shipped_kb_is_valid() -> None:
    content, problems = load_kb(REPO / "data" / "kb")
    assert problems == []
    assert content is not None


def test_missing_source_names_file_and_entry(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml",
          lambda d: _entry(d, "medications", "medication.apixaban").pop("source"))
    problem = _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban",
                            "missing field 'source'")
    assert str(problem) == "medications.yml: medication.apixaban: missing field 'source'"


@pytest.mark.parametrize("field", ["reviewed_by", "reviewed_on", "status", "evidence"])
def test_missing_review_metadata(kb_copy: Path, field: str) -> None:
    _edit(kb_copy / "answers" / "driver.yml",
          lambda d: d["answers"][0].pop(field))
    entry_id = yaml.safe_load((kb_copy / "answers" / "driver.yml").read_text())["answers"][0]["id"]
    _one_matching(_problems(kb_copy), str(Path("answers/driver.yml")), entry_id,
                  f"missing field '{field}'")


def test_unknown_key(kb_copy: Path) -> None:
    _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__("solid_hours", 6))
    _one_matching(_problems(kb_copy), "fasting.yml", "fasting.policy", "unknown key 'solid_hours'")


def test_duplicate_id(kb_copy: Path) -> None:
    def duplicate(document: dict) -> None:  # type: ignore[type-arg]
        document["medications"].append(dict(_entry(document, "medications", "medication.apixaban"),
                                            generic="apixaban two"))
    _edit(kb_copy / "medications.yml", duplicate)
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban", "duplicate id")


@pytest.mark.parametrize(("value", "fragment"), [(40, "less than or equal to 14"),
                                                 (0, "greater than or equal to 1")])
def test_out_of_range_hold_days(kb_copy: Path, value: int, fragment: str) -> None:
    def change(document: dict) -> None:  # type: ignore[type-arg]
        _entry(document, "medications", "medication.apixaban")["rules"]["intermediate"][
            "hold_days"] = value
    _edit(kb_copy / "medications.yml", change)
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban", fragment)


def test_out_of_range_fasting_hours(kb_copy: Path) -> None:
    _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__("clear_liquids_hours", 30))
    _one_matching(_problems(kb_copy), "fasting.yml", "fasting.policy", "clear_liquids_hours")


def test_unconfirmed_cannot_be_approved(kb_copy: Path) -> None:
    def approve(document: dict) -> None:  # type: ignore[type-arg]
        entry = next(e for e in document["medications"] if e["evidence"] == "UNCONFIRMED")
        entry["status"] = "approved"
        approve.entry_id = entry["id"]  # type: ignore[attr-defined]
    _edit(kb_copy / "medications.yml", approve)
    _one_matching(_problems(kb_copy), "medications.yml", approve.entry_id,  # type: ignore[attr-defined]
                  "UNCONFIRMED")


def test_unknown_placeholder_is_a_broken_reference(kb_copy: Path) -> None:
    path = kb_copy / "answers" / "fasting.yml"
    _edit(path, lambda d: d["answers"][0].__setitem__("text", "Stop at {bedtime_hours}."))
    entry_id = yaml.safe_load(path.read_text())["answers"][0]["id"]
    _one_matching(_problems(kb_copy), str(Path("answers/fasting.yml")), entry_id,
                  "unknown placeholder '{bedtime_hours}'")


def test_required_answer_missing(kb_copy: Path) -> None:
    path = kb_copy / "answers" / "driver.yml"
    _edit(path, lambda d: d.__setitem__("answers", [a for a in d["answers"]
                                                    if a["key"] != "driver.no_driver"]))
    _one_matching(_problems(kb_copy), "(all files)", "answers", "required key 'driver.no_driver'")


def test_draft_answer_does_not_count_as_coverage(kb_copy: Path) -> None:
    path = kb_copy / "answers" / "driver.yml"
    def draft(document: dict) -> None:  # type: ignore[type-arg]
        for answer in document["answers"]:
            if answer["key"] == "driver.taxi":
                answer["status"] = "draft"
    _edit(path, draft)
    _one_matching(_problems(kb_copy), "(all files)", "answers", "required key 'driver.taxi'")


def test_name_pointing_to_two_drugs(kb_copy: Path) -> None:
    def clash(document: dict) -> None:  # type: ignore[type-arg]
        _entry(document, "medications", "medication.rivaroxaban")["misspellings"].append("eliquis")
    _edit(kb_copy / "medications.yml", clash)
    problems = _problems(kb_copy)
    assert any("name 'eliquis' also belongs to" in p.message for p in problems)


def test_hold_without_duration(kb_copy: Path) -> None:
    def change(document: dict) -> None:  # type: ignore[type-arg]
        _entry(document, "medications", "medication.apixaban")["rules"]["intermediate"].pop(
            "hold_days")
    _edit(kb_copy / "medications.yml", change)
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban",
                  "exactly one of hold_days or hold_hours")


def test_missing_risk_class_rule(kb_copy: Path) -> None:
    def change(document: dict) -> None:  # type: ignore[type-arg]
        _entry(document, "medications", "medication.apixaban")["rules"].pop("high")
    _edit(kb_copy / "medications.yml", change)
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban",
                  "rules missing for risk class(es): high")


def test_yaml_syntax_error_names_line(kb_copy: Path) -> None:
    (kb_copy / "fasting.yml").write_text("fasting:\n  id: [unclosed\n", "utf-8")
    problems = _problems(kb_copy)
    assert any(p.file == "fasting.yml" and "YAML syntax error" in p.message for p in problems)


def test_duplicate_yaml_key(kb_copy: Path) -> None:
    path = kb_copy / "clinic.yml"
    path.write_text(path.read_text("utf-8") + "  phone: \"+1 555 000 0000\"\n", "utf-8")
    problems = _problems(kb_copy)
    assert any(p.file == "clinic.yml" and "duplicate key 'phone'" in p.message for p in problems)


def test_unknown_time_zone(kb_copy: Path) -> None:
    _edit(kb_copy / "clinic.yml", lambda d: d["clinic"].__setitem__("time_zone", "Mars/Olympus"))
    _one_matching(_problems(kb_copy), "clinic.yml", "clinic", "unknown time zone")


def test_cli_check_rejects_deleted_source(kb_copy: Path) -> None:
    """The acceptance check: `make kb-check KB_DIR=…` names the file and the entry."""
    _edit(kb_copy / "medications.yml",
          lambda d: _entry(d, "medications", "medication.warfarin").pop("source"))
    result = subprocess.run(
        [sys.executable, "-m", "actions.kb.cli", "check", str(kb_copy)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1
    assert "medications.yml: medication.warfarin: missing field 'source'" in result.stderr
    assert "KB check FAILED" in result.stderr


def test_cli_check_accepts_shipped_kb() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "actions.kb.cli", "check", "data/kb"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "KB check OK" in result.stdout


def test_generated_files_are_up_to_date() -> None:
    """NLU vocabulary, lookup table and safety responses must match the KB."""
    result = subprocess.run(
        [sys.executable, "-m", "actions.kb.cli", "export", "data/kb", "--check"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr


def test_generated_rules_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, "scripts/generate_rules.py", "--check"],
                            cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
