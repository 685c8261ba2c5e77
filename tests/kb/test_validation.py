"""Every way a clinician's edit can be wrong gets one clear line (file, entry id, problem), and a
KB with any problem is never loaded.

Each test breaks one thing in a copy of data/kb; the shipped KB itself has no problem at all
(`test_every_shipped_profile_is_valid`), so every problem found is the edit's.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.kb import schema
from actions.kb.loader import Problem, load_kb
from actions.kb.production import production_problems
from tests.kb.conftest import CLINIC, KB_DIR, REPO, load_or_fail

Document = dict[str, Any]


def _edit(path: Path, change: Callable[[Document], Any]) -> None:
    document = yaml.safe_load(path.read_text("utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")


def _entry(document: Document, section: str, entry_id: str) -> Document:
    return next(e for e in document[section] if e["id"] == entry_id)


def _text(document: Document, key: str) -> Document:
    return next(e for e in document["texts"] if e["key"] == key)


def _topic(document: Document, topic_id: str) -> Document:
    return next(t for t in document["registry"]["topics"] if t["id"] == topic_id)


def _problems(kb_dir: Path, clinic: str = CLINIC) -> list[Problem]:
    content, problems = load_kb(kb_dir, clinic)
    assert content is None, "expected the KB to be rejected"
    assert problems, "a rejected KB must say why"
    return problems


def _one_matching(problems: list[Problem], file: str, entry_id: str, fragment: str) -> Problem:
    matches = [p for p in problems if p.file == file and p.entry_id == entry_id
               and fragment in p.message]
    assert matches, f"no '{file}: {entry_id}: ...{fragment}...' in:\n" + "\n".join(
        map(str, problems))
    return matches[0]


# ------------------------------------------------------------------------------ the shipped KB
@pytest.mark.parametrize("profile", sorted(p.stem for p in (KB_DIR / "clinics").glob("*.yml")))
def test_every_shipped_profile_is_valid(profile: str) -> None:
    content, problems = load_kb(KB_DIR, profile)
    assert problems == []
    assert content is not None and content.clinic_profile == profile


def test_the_shipped_kb_keeps_unconfirmed_values_out_of_patient_view() -> None:
    """Unconfirmed evidence exists in the catalogue (so the rule below is exercised), and every
    such entry is a draft."""
    content = load_or_fail(KB_DIR)
    unconfirmed = [e for e in content.all_entries()
                   if e.evidence is schema.Evidence.unconfirmed]
    assert unconfirmed
    assert all(e.status is not schema.Status.approved for e in unconfirmed)


# ------------------------------------------------------------------------------ review fields
def test_missing_source_names_file_and_entry(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml",
          lambda d: _entry(d, "medications", "medication.apixaban").pop("source"))
    problem = _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban",
                            "missing field 'source'")
    assert str(problem) == "medications.yml: medication.apixaban: missing field 'source'"


@pytest.mark.parametrize("field", ["source", "reviewed_by", "reviewed_on", "status", "evidence"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_a_text_without_review_metadata_is_refused(kb_copy: Path, field: str,
                                                   language: str) -> None:
    _edit(kb_copy / "texts" / language / "driver.yml",
          lambda d: _text(d, "driver.taxi.false").pop(field))
    _one_matching(_problems(kb_copy), f"texts/{language}/driver.yml",
                  f"text.{language}.driver.taxi.false", f"missing field '{field}'")


@pytest.mark.parametrize("field", ["reviewed_by", "source"])
def test_blank_review_metadata_is_refused(kb_copy: Path, field: str) -> None:
    _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__(field, "  "))
    _one_matching(_problems(kb_copy), "fasting.yml", "fasting.policy", field)


def test_review_date_in_the_future_is_refused(kb_copy: Path) -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    _edit(kb_copy / "medications.yml", lambda d: _entry(
        d, "medications", "medication.warfarin").__setitem__("reviewed_on", tomorrow))
    _one_matching(_problems(kb_copy), "medications.yml", "medication.warfarin", "in the future")


def test_unknown_status_is_refused(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "driver.yml",
          lambda d: _text(d, "driver.taxi.false").__setitem__("status", "published"))
    _one_matching(_problems(kb_copy), "texts/en/driver.yml", "text.en.driver.taxi.false",
                  "status")


# ------------------------------------------------------------------------------ UNCONFIRMED
def test_unconfirmed_medication_cannot_be_approved(kb_copy: Path) -> None:
    approved: list[str] = []

    def approve(document: Document) -> None:
        entry = next(e for e in document["medications"] if e["evidence"] == "UNCONFIRMED")
        entry["status"] = "approved"
        approved.append(entry["id"])

    _edit(kb_copy / "medications.yml", approve)
    _one_matching(_problems(kb_copy), "medications.yml", approved[0],
                  "evidence is UNCONFIRMED but status is approved")


def test_unconfirmed_text_cannot_be_approved(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "fasting.yml",
          lambda d: _text(d, "fasting.water").__setitem__("evidence", "UNCONFIRMED"))
    _one_matching(_problems(kb_copy), "texts/en/fasting.yml", "text.en.fasting.water",
                  "UNCONFIRMED")


def test_unconfirmed_draft_is_accepted_but_does_not_cover_a_required_text(kb_copy: Path) -> None:
    """A draft may hold an unconfirmed value; it is stored, never counted as the answer."""

    def to_unconfirmed_draft(document: Document) -> None:
        _text(document, "fasting.water").update(evidence="UNCONFIRMED", status="draft")

    _edit(kb_copy / "texts" / "en" / "fasting.yml", to_unconfirmed_draft)
    problems = _problems(kb_copy)
    assert not any("UNCONFIRMED" in p.message for p in problems)
    _one_matching(problems, "texts/en", "fasting.water",
                  "no approved English text for required key 'fasting.water'")


# ------------------------------------------------------------------------------ unknown keys
def test_unknown_key_in_a_policy(kb_copy: Path) -> None:
    _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__("solid_hours", 6))
    _one_matching(_problems(kb_copy), "fasting.yml", "fasting.policy", "unknown key 'solid_hours'")


def test_unknown_key_in_a_text(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "es" / "fasting.yml",
          lambda d: _text(d, "fasting.main").__setitem__("long", "Más texto."))
    _one_matching(_problems(kb_copy), "texts/es/fasting.yml", "text.es.fasting.main",
                  "unknown key 'long'")


def test_unknown_key_in_the_registry(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: _topic(d, "driver").__setitem__("colour", "blue"))
    problems = _problems(kb_copy)
    _one_matching(problems, "topics.yml", "registry", "unknown key 'topics.")
    _one_matching(problems, "topics.yml", "registry", "colour")


def test_unknown_key_in_a_clinic_profile(kb_copy: Path) -> None:
    _edit(kb_copy / "clinics" / "us_example.yml",
          lambda d: d["clinic"].__setitem__("fax", "+1 555 010 0101"))
    _one_matching(_problems(kb_copy), "clinics/us_example.yml", "clinic", "unknown key 'fax'")


def test_unknown_section(kb_copy: Path) -> None:
    (kb_copy / "parking.yml").write_text("parking:\n  spaces: 4\n", "utf-8")
    _one_matching(_problems(kb_copy), "parking.yml", "-", "unknown section 'parking'")


# ------------------------------------------------------------------------------ values and ranges
def test_duplicate_id(kb_copy: Path) -> None:
    def duplicate(document: Document) -> None:
        document["medications"].append(dict(_entry(document, "medications", "medication.apixaban"),
                                            generic="apixaban two", brands={},
                                            misspellings=[], generic_names={}))

    _edit(kb_copy / "medications.yml", duplicate)
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban", "duplicate id")


@pytest.mark.parametrize(("value", "fragment"), [(40, "less than or equal to 14"),
                                                 (0, "greater than or equal to 1")])
def test_out_of_range_hold_days(kb_copy: Path, value: int, fragment: str) -> None:
    def change(document: Document) -> None:
        _entry(document, "medications", "medication.apixaban")["rules"]["intermediate"][
            "hold_days"] = value

    _edit(kb_copy / "medications.yml", change)
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban", fragment)


def test_out_of_range_fasting_hours(kb_copy: Path) -> None:
    _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__("clear_liquids_hours", 30))
    _one_matching(_problems(kb_copy), "fasting.yml", "fasting.policy", "clear_liquids_hours")


def test_fasting_intervals_must_be_ordered(kb_copy: Path) -> None:
    _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__("light_meal_hours", 1))
    _one_matching(_problems(kb_copy), "fasting.yml", "fasting.policy",
                  "clear_liquids_hours <= light_meal_hours <= fatty_meal_hours")


def test_a_value_of_the_wrong_type_is_not_coerced(kb_copy: Path) -> None:
    _edit(kb_copy / "clinics" / "us_example.yml",
          lambda d: d["clinic"].__setitem__("taxi_allowed_alone", "sometimes"))
    _one_matching(_problems(kb_copy), "clinics/us_example.yml", "clinic", "taxi_allowed_alone")


def test_name_pointing_to_two_drugs(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml", lambda d: _entry(
        d, "medications", "medication.rivaroxaban")["misspellings"].append("Eliquis"))
    problems = [p for p in _problems(kb_copy) if "name 'eliquis' also belongs to" in p.message]
    assert len(problems) == 1, problems
    assert {problems[0].entry_id, problems[0].message.split("'")[3]} == {
        "medication.apixaban", "medication.rivaroxaban"}
    assert problems[0].file == "medications.yml"


def test_hold_without_duration(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml", lambda d: _entry(
        d, "medications", "medication.apixaban")["rules"]["intermediate"].pop("hold_days"))
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban",
                  "exactly one of hold_days or hold_hours")


def test_hold_without_restart(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml", lambda d: _entry(
        d, "medications", "medication.apixaban")["rules"]["intermediate"].pop("restart_hours"))
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban",
                  "needs restart_hours")


def test_continue_with_a_duration_is_refused(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml", lambda d: _entry(
        d, "medications", "medication.aspirin")["rules"]["low"].__setitem__("hold_days", 3))
    _one_matching(_problems(kb_copy), "medications.yml", "medication.aspirin",
                  "action 'continue' must not set hold_days")


def test_missing_risk_class_rule(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml",
          lambda d: _entry(d, "medications", "medication.apixaban")["rules"].pop("high"))
    _one_matching(_problems(kb_copy), "medications.yml", "medication.apixaban",
                  "rules missing for risk class(es): high")


def test_inr_check_only_for_anticoagulants(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml", lambda d: _entry(
        d, "medications", "medication.aspirin").__setitem__("inr_check", True))
    _one_matching(_problems(kb_copy), "medications.yml", "medication.aspirin",
                  "inr_check is only for anticoagulants")


def test_unknown_time_zone(kb_copy: Path) -> None:
    _edit(kb_copy / "clinics" / "us_example.yml",
          lambda d: d["clinic"].__setitem__("time_zone", "Mars/Olympus"))
    _one_matching(_problems(kb_copy), "clinics/us_example.yml", "clinic", "unknown time zone")


def test_opening_hours_must_be_ranges(kb_copy: Path) -> None:
    _edit(kb_copy / "clinics" / "us_example.yml",
          lambda d: d["clinic"]["opening_hours"].__setitem__("monday", "9 to 5"))
    _one_matching(_problems(kb_copy), "clinics/us_example.yml", "clinic",
                  "monday: '9 to 5' is not 'HH:MM-HH:MM' or 'closed'")


def test_every_profile_is_validated_not_only_the_selected_one(kb_copy: Path) -> None:
    _edit(kb_copy / "clinics" / "es_barcelona_example.yml",
          lambda d: d["clinic"].__setitem__("emergency_number", "one one two"))
    _one_matching(_problems(kb_copy, "us_example"), "clinics/es_barcelona_example.yml", "clinic",
                  "emergency_number")


def test_unknown_clinic_profile(kb_copy: Path) -> None:
    _one_matching(_problems(kb_copy, "nowhere"), "clinics/nowhere.yml", "clinic",
                  "clinic profile 'nowhere' not found (profiles: es_barcelona_example, "
                  "us_example)")


def test_a_clinic_outside_the_clinics_folder_is_refused(kb_copy: Path) -> None:
    (kb_copy / "clinic.yml").write_text((kb_copy / "clinics" / "us_example.yml").read_text())
    _one_matching(_problems(kb_copy), "clinic.yml", "clinic", "clinic profiles go in clinics/")


def test_the_clinic_and_the_fasting_policy_must_be_approved(kb_copy: Path) -> None:
    _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__("status", "draft"))
    _one_matching(_problems(kb_copy), "fasting.yml", "fasting.policy", "must be approved")


def test_each_site_needs_exactly_one_approved_procedure(kb_copy: Path) -> None:
    _edit(kb_copy / "procedures.yml",
          lambda d: _entry(d, "procedures", "procedure.cervical").__setitem__("status", "draft"))
    _one_matching(_problems(kb_copy), "(all files)", "procedures",
                  "no approved procedure for site 'cervical'")


def test_an_approved_emergency_red_flag_is_required(kb_copy: Path) -> None:
    def draft_emergencies(document: Document) -> None:
        for flag in document["red_flags"]:
            if flag["level"] == "emergency":
                flag["status"] = "draft"

    _edit(kb_copy / "red_flags.yml", draft_emergencies)
    _one_matching(_problems(kb_copy), "(all files)", "red_flags",
                  "no approved red flag with level 'emergency'")


def test_red_flag_pattern_must_be_a_regex(kb_copy: Path) -> None:
    _edit(kb_copy / "red_flags.yml", lambda d: d["red_flags"][0]["patterns"]["en"].append("(("))
    problems = _problems(kb_copy)
    assert any(p.file == "red_flags.yml" and "is not a valid regex" in p.message
               for p in problems), "\n".join(map(str, problems))


# ------------------------------------------------------------------------------ texts
def test_unknown_placeholder(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "fasting.yml",
          lambda d: _text(d, "fasting.main").__setitem__("short", "Stop at {bedtime_hours}."))
    _one_matching(_problems(kb_copy), "texts/en/fasting.yml", "text.en.fasting.main",
                  "short: unknown placeholder '{bedtime_hours}' for key 'fasting.main'")


def test_a_placeholder_of_another_key_is_refused(kb_copy: Path) -> None:
    """{drug} is filled for the medicine texts only; elsewhere it would stay unfilled."""
    _edit(kb_copy / "texts" / "es" / "driver.yml",
          lambda d: _text(d, "driver.taxi.false").__setitem__("detail", "Tome {drug}."))
    _one_matching(_problems(kb_copy), "texts/es/driver.yml", "text.es.driver.taxi.false",
                  "detail: unknown placeholder '{drug}'")


def test_a_registry_placeholder_is_allowed_for_its_key(kb_copy: Path) -> None:
    """The registry's placeholder list for question.kidney ([drug]) is what the text may use."""
    _edit(kb_copy / "texts" / "en" / "questions.yml", lambda d: _text(
        d, "question.kidney").__setitem__("short", "Do your kidneys work well ({drug})?"))
    assert load_or_fail(kb_copy) is not None
    _edit(kb_copy / "texts" / "en" / "questions.yml", lambda d: _text(
        d, "question.kidney").__setitem__("short", "Kidneys and {drug} on {date}?"))
    _one_matching(_problems(kb_copy), "texts/en/questions.yml", "text.en.question.kidney",
                  "unknown placeholder '{date}'")


def test_malformed_placeholder(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "driver.yml",
          lambda d: _text(d, "driver.taxi.false").__setitem__("short", "Call {clinic_phone."))
    _one_matching(_problems(kb_copy), "texts/en/driver.yml", "text.en.driver.taxi.false",
                  "malformed {placeholder}")


def test_required_english_text_missing(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "driver.yml", lambda d: d.__setitem__(
        "texts", [t for t in d["texts"] if t["key"] != "driver.no_driver"]))
    problems = _problems(kb_copy)
    _one_matching(problems, "texts/en", "driver.no_driver",
                  "no approved English text for required key 'driver.no_driver'")
    # the Spanish translation is left without the English original
    _one_matching(problems, "texts/es/driver.yml", "text.es.driver.no_driver",
                  "every translation needs one")


def test_every_variant_of_a_clinic_setting_needs_its_text(kb_copy: Path) -> None:
    """driver.taxi follows clinic.taxi_allowed_alone: the text for the value this clinic does
    not use is still required, so changing the setting can never leave the answer empty."""
    unused = "driver.taxi.true"
    assert load_or_fail(KB_DIR).clinic.taxi_allowed_alone is False
    _edit(kb_copy / "texts" / "en" / "driver.yml",
          lambda d: d.__setitem__("texts", [t for t in d["texts"] if t["key"] != unused]))
    _one_matching(_problems(kb_copy), "texts/en", unused, f"required key '{unused}'")


def test_a_draft_text_does_not_count_as_coverage(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "driver.yml",
          lambda d: _text(d, "driver.no_driver").__setitem__("status", "draft"))
    _one_matching(_problems(kb_copy), "texts/en", "driver.no_driver",
                  "no approved English text for required key 'driver.no_driver'")


def test_a_missing_translation_is_allowed(kb_copy: Path) -> None:
    """Other languages may lag behind English (the patient gets English with a note:
    tests/actions/test_topic_actions.py)."""
    _edit(kb_copy / "texts" / "es" / "driver.yml", lambda d: d.__setitem__(
        "texts", [t for t in d["texts"] if t["key"] != "driver.no_driver"]))
    content = load_or_fail(kb_copy)
    assert not any(t.entry.key == "driver.no_driver" for t in content.approved_texts(
        schema.Language.es))


def test_unknown_text_key(kb_copy: Path) -> None:
    def add(document: Document) -> None:
        document["texts"].append(dict(_text(document, "driver.no_driver"), key="driver.pets"))

    _edit(kb_copy / "texts" / "en" / "driver.yml", add)
    _one_matching(_problems(kb_copy), "texts/en/driver.yml", "text.en.driver.pets",
                  "unknown text key 'driver.pets'")


def test_two_approved_texts_for_one_key(kb_copy: Path) -> None:
    def add(document: Document) -> None:
        document["texts"].append(dict(_text(document, "driver.no_driver"),
                                      id="text.en.driver.no_driver.second"))

    _edit(kb_copy / "texts" / "en" / "driver.yml", add)
    _one_matching(_problems(kb_copy), "texts/en/driver.yml", "text.en.driver.no_driver.second",
                  "2 approved en texts for key 'driver.no_driver' and site 'any'; keep one")


def test_a_site_only_where_the_registry_says_per_site(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "driver.yml",
          lambda d: _text(d, "driver.no_driver").__setitem__("site", "lumbar"))
    _one_matching(_problems(kb_copy), "texts/en/driver.yml", "text.en.driver.no_driver.lumbar",
                  "key 'driver.no_driver' is not per-site in the registry; remove 'site'")


def test_a_short_answer_fits_two_sms_segments_once_filled(kb_copy: Path) -> None:
    _edit(kb_copy / "texts" / "en" / "driver.yml", lambda d: _text(
        d, "driver.no_driver").__setitem__("short", "Please call {clinic_phone}. " * 12))
    _one_matching(_problems(kb_copy), "texts/en/driver.yml", "text.en.driver.no_driver",
                  "short is ")


def test_texts_in_an_unknown_language_folder(kb_copy: Path) -> None:
    (kb_copy / "texts" / "fr").mkdir()
    (kb_copy / "texts" / "fr" / "driver.yml").write_text(
        (kb_copy / "texts" / "en" / "driver.yml").read_text("utf-8"), "utf-8")
    _one_matching(_problems(kb_copy), "texts/fr/driver.yml", "-",
                  "texts must be in texts/<language>/")


# ------------------------------------------------------------------------------ the registry
def test_a_topic_answer_without_a_text(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: _topic(d, "driver")["answers"].append(
        {"key": "driver.pets", "cues": {"en": ["dog"]}}))
    _one_matching(_problems(kb_copy), "texts/en", "driver.pets",
                  "no approved English text for required key 'driver.pets'")


def test_a_topic_needs_its_label_and_question_texts(kb_copy: Path) -> None:
    """Quick replies name topics by label.<topic> and send question.<topic>."""
    _edit(kb_copy / "texts" / "en" / "labels.yml", lambda d: d.__setitem__(
        "texts", [t for t in d["texts"] if t["key"] != "label.driver"]))
    _one_matching(_problems(kb_copy), "texts/en", "label.driver", "required key 'label.driver'")


def test_answer_keys_belong_to_their_topic(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: _topic(d, "driver")["answers"].append(
        {"key": "fasting.pets"}))
    _one_matching(_problems(kb_copy), "topics.yml", "registry",
                  "answer key 'fasting.pets' must start with 'driver.'")


def test_an_intent_belongs_to_one_topic(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: _topic(d, "sedation").__setitem__(
        "intent", "ask_driver"))
    _one_matching(_problems(kb_copy), "topics.yml", "registry",
                  "intent 'ask_driver' is listed twice")


def test_a_topic_intent_is_not_also_a_conversation_intent(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml",
          lambda d: d["registry"]["intents"]["respond"].append("ask_fasting"))
    _one_matching(_problems(kb_copy), "topics.yml", "registry",
                  "intent 'ask_fasting' is listed twice")


def test_a_text_key_is_listed_once(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml",
          lambda d: d["registry"]["texts"]["labels"].__setitem__("question.site", []))
    _one_matching(_problems(kb_copy), "topics.yml", "registry",
                  "text key 'question.site' is listed twice")


def test_variants_follow_a_known_setting(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: _topic(d, "driver")["answers"][0].__setitem__(
        "variants_by", "clinic.parking"))
    _one_matching(_problems(kb_copy), "topics.yml", "registry",
                  "variants_by 'clinic.parking' is not one of")


def test_cues_are_lower_case(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: _topic(d, "driver")["answers"][2]["cues"][
        "en"].append("Taxi"))
    _one_matching(_problems(kb_copy), "topics.yml", "registry", "cue 'Taxi' must be lower case")


def test_english_is_a_registry_language(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: d["registry"].__setitem__("languages", ["es"]))
    _one_matching(_problems(kb_copy), "topics.yml", "registry", "languages must include 'en'")


def test_a_clinic_language_must_be_a_registry_language(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: d["registry"].__setitem__("languages", ["en"]))
    _one_matching(_problems(kb_copy), "clinics/es_barcelona_example.yml", "clinic",
                  "default_language 'es' is not a registry language")


def test_exactly_one_registry(kb_copy: Path) -> None:
    (kb_copy / "topics.yml").unlink()
    _one_matching(_problems(kb_copy), "topics.yml", "registry",
                  "expected exactly one 'registry' section, found 0")


# ------------------------------------------------------------------------------ files
def test_yaml_syntax_error_names_the_line(kb_copy: Path) -> None:
    (kb_copy / "fasting.yml").write_text("fasting:\n  id: [unclosed\n", "utf-8")
    problems = _problems(kb_copy)
    assert any(p.file == "fasting.yml" and p.entry_id.startswith("line ")
               and "YAML syntax error" in p.message for p in problems), problems


def test_duplicate_yaml_key(kb_copy: Path) -> None:
    path = kb_copy / "clinics" / "us_example.yml"
    path.write_text(path.read_text("utf-8") + "  phone: \"+1 555 000 0000\"\n", "utf-8")
    problems = _problems(kb_copy)
    assert any(p.file == "clinics/us_example.yml" and "duplicate key 'phone'" in p.message
               for p in problems), problems


def test_a_file_that_is_not_utf8(kb_copy: Path) -> None:
    (kb_copy / "fasting.yml").write_bytes("fasting:\n  id: caf\xe9\n".encode("latin-1"))
    _one_matching(_problems(kb_copy), "fasting.yml", "-", "not UTF-8")


def test_problems_are_sorted_and_unique(kb_copy: Path) -> None:
    _edit(kb_copy / "medications.yml", lambda d: [
        _entry(d, "medications", m).pop("source")
        for m in ("medication.warfarin", "medication.apixaban")])
    problems = _problems(kb_copy)
    assert problems == sorted(set(problems))


# ------------------------------------------------------------------------------ command line
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "actions.kb.cli", *args], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "KB_CLINIC": CLINIC})


def test_cli_check_rejects_a_deleted_source(kb_copy: Path) -> None:
    """`make kb-check KB_DIR=...` names the file and the entry."""
    _edit(kb_copy / "medications.yml",
          lambda d: _entry(d, "medications", "medication.warfarin").pop("source"))
    result = _cli("check", str(kb_copy))
    assert result.returncode == 1
    assert "medications.yml: medication.warfarin: missing field 'source'" in result.stderr
    assert "KB check FAILED: 1 problem in" in result.stderr


def test_cli_check_accepts_the_shipped_kb() -> None:
    result = _cli("check", "data/kb")
    assert result.returncode == 0, result.stderr
    assert "KB check OK" in result.stdout and "clinic profile 'us_example'" in result.stdout


# ------------------------------------------------------------------------------ production
def _real_profile(kb_copy: Path, example: str, keep_phone: bool = False) -> str:
    """A copy of an example profile with the clinic's own name, address (and phone), every
    entry re-reviewed; returns its profile name."""
    def real(document: Document) -> None:
        document["clinic"].update(name="Riverside Pain Centre", address="12 Hudson Road, Albany",
                                  reviewed_by="Dr A. Reviewer, medical director")
        if not keep_phone:
            document["clinic"]["phone"] = "+1 212 555 7788"

    profile = kb_copy / "clinics" / "riverside.yml"
    profile.write_text((kb_copy / "clinics" / f"{example}.yml").read_text("utf-8"), "utf-8")
    _edit(profile, real)
    for path in kb_copy.rglob("*.yml"):
        path.write_text(path.read_text("utf-8").replace(
            "must re-review before go-live", "reviewed for go-live"), "utf-8")
    return "riverside"


@pytest.mark.parametrize("example", ["us_example", "es_barcelona_example"])
def test_production_refuses_the_example_profiles(example: str) -> None:
    content = load_or_fail(KB_DIR, example)
    problems = production_problems(content)
    fields = {p.message.split(":", 1)[0] for p in problems if p.entry_id == "clinic"}
    assert {"name", "phone", "address"} <= fields, problems
    assert any("is an example profile" in p.message for p in problems)
    assert any(p.entry_id == "reviewed_by" and p.file == "medications.yml" for p in problems)


@pytest.mark.parametrize("example", ["us_example", "es_barcelona_example"])
def test_production_refuses_an_example_phone_in_a_renamed_profile(kb_copy: Path,
                                                                  example: str) -> None:
    """A clinic that copies an example and forgets the phone would send patients to a number
    that does not exist."""
    profile = _real_profile(kb_copy, example, keep_phone=True)
    problems = production_problems(load_or_fail(kb_copy, profile))
    assert [p.message.split(":", 1)[0] for p in problems] == ["phone"], problems


def test_production_accepts_a_reviewed_real_profile(kb_copy: Path) -> None:
    profile = _real_profile(kb_copy, "us_example")
    assert production_problems(load_or_fail(kb_copy, profile)) == []
    result = _cli("production-check", str(kb_copy), "--clinic", profile)
    assert result.returncode == 0, result.stderr
    refused = _cli("production-check", str(kb_copy))  # KB_CLINIC: still the example profile
    assert refused.returncode == 1 and "PRODUCTION REFUSED" in refused.stderr


@pytest.mark.parametrize("category, fragment", [
    ("weakness_numbness", "not the category of an approved urgent red flag"),  # an emergency
    ("no_such_category", "not the category of an approved urgent red flag"),
])
def test_a_topic_stands_only_for_an_urgent_triage_category(kb_copy: Path, category: str,
                                                             fragment: str) -> None:
    _edit(kb_copy / "topics.yml",
          lambda d: _topic(d, "fasting").__setitem__("triage_categories", [category]))
    _one_matching(_problems(kb_copy), "(all files)", "registry", fragment)


def test_a_triage_category_belongs_to_one_topic(kb_copy: Path) -> None:
    _edit(kb_copy / "topics.yml", lambda d: _topic(d, "fasting").__setitem__(
        "triage_categories", ["pre_procedure_illness"]))
    _one_matching(_problems(kb_copy), "(all files)", "registry",
                  "listed by topics 'fasting' and 'illness'")
