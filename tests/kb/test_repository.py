"""The query layer serves only approved content, as plain DTOs with provenance, on SQLite and
PostgreSQL; a rebuild replaces the KB in one transaction; the snapshot follows rebuilds."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from actions.kb import dto, models, repository, schema
from actions.kb.builder import build_database
from actions.kb.loader import KbContent, LoadedText
from actions.kb.registry import Registry
from actions.kb.snapshot import current_snapshot, forget_snapshot
from tests.kb.conftest import KB_DIR, EngineFactory, load_or_fail


def _approved(entries: list[Any]) -> list[Any]:
    return [e for e in entries if e.status is schema.Status.approved]


def _provenance_of(entry: schema.ReviewFields, entry_id: str) -> dto.Provenance:
    return dto.Provenance(entry_id=entry_id, source=entry.source, evidence=entry.evidence.value,
                          reviewed_by=entry.reviewed_by, reviewed_on=entry.reviewed_on)


# ------------------------------------------------------------------------------ the shipped KB
def test_clinic_and_fasting_with_provenance(session: Session, kb_content: KbContent) -> None:
    clinic = repository.get_clinic(session)
    assert clinic is not None
    assert (clinic.name, clinic.phone, clinic.emergency_number, clinic.crisis_line) == (
        kb_content.clinic.name, kb_content.clinic.phone, kb_content.clinic.emergency_number,
        kb_content.clinic.crisis_line)
    assert clinic.opening_hours == kb_content.clinic.opening_hours.model_dump()
    assert clinic.provenance == _provenance_of(kb_content.clinic, "clinic")
    fasting = repository.get_fasting_rules(session)
    assert fasting is not None
    assert (fasting.light_meal_hours, fasting.fatty_meal_hours, fasting.clear_liquids_hours) == (
        kb_content.fasting.light_meal_hours, kb_content.fasting.fatty_meal_hours,
        kb_content.fasting.clear_liquids_hours)
    assert fasting.gum_and_candy == kb_content.fasting.gum_and_candy.value
    assert fasting.provenance == _provenance_of(kb_content.fasting, "fasting.policy")


def test_one_procedure_per_site_with_its_risk_class(session: Session,
                                                    kb_content: KbContent) -> None:
    procedures = {p.site: p for p in repository.list_procedures(session)}
    assert {site: p.risk_class for site, p in procedures.items()} == {
        "lumbar": "low", "cervical": "intermediate"}
    for entry in _approved(kb_content.procedures):
        served = procedures[entry.site.value]
        assert served.provenance == _provenance_of(entry, entry.id)
        assert served.site_terms == {lang.value: tuple(t) for lang, t in entry.site_terms.items()}


def test_every_approved_text_is_served_with_its_provenance(session: Session,
                                                           kb_content: KbContent) -> None:
    served = {t.provenance.entry_id: t for t in repository.list_texts(session)}
    expected: dict[str, LoadedText] = {t.id: t for t in kb_content.texts
                                       if t.entry.status is schema.Status.approved}
    assert set(served) == set(expected)
    for entry_id, text in expected.items():
        item = served[entry_id]
        assert (item.key, item.language, item.site) == (
            text.entry.key, text.language.value, text.entry.site.value)
        assert (item.short, item.detail) == (text.entry.short, text.entry.detail)
        assert item.provenance == _provenance_of(text.entry, entry_id)


def test_both_languages_are_served(session: Session) -> None:
    by_language: dict[str, set[str]] = {}
    for item in repository.list_texts(session):
        by_language.setdefault(item.language, set()).add(item.key)
    assert set(by_language) == {"en", "es"}
    assert "assistant.unavailable" in by_language["en"] & by_language["es"]


def test_every_approved_drug_rule_per_risk_class(session: Session,
                                                 kb_content: KbContent) -> None:
    served = {m.generic: m for m, _ in repository.list_medications(session)}
    for entry in _approved(kb_content.medications):
        medication = served[entry.generic]
        assert medication.approved and medication.provenance == _provenance_of(entry, entry.id)
        assert medication.drug_class == entry.drug_class.value
        assert medication.inr_check == entry.inr_check
        for risk, rule in entry.rules.items():
            got = medication.rule_for(risk.value)
            assert got is not None
            assert (got.action, got.hold_days, got.hold_hours, got.restart_hours,
                    got.hold_days_renal_impaired) == (
                rule.action.value, rule.hold_days, rule.hold_hours, rule.restart_hours,
                rule.hold_days_renal_impaired), f"{entry.generic} {risk.value}"


def test_every_name_points_to_its_drug(session: Session, kb_content: KbContent) -> None:
    names = {m.generic: set(n) for m, n in repository.list_medications(session)}
    for entry in kb_content.medications:
        expected = {entry.generic, *entry.generic_names.values(), *entry.brands.us,
                    *entry.brands.uk, *entry.brands.es, *entry.misspellings}
        assert names[entry.generic] == {n.lower() for n in expected}, entry.generic


def test_medications_are_sorted_by_generic(session: Session) -> None:
    generics = [m.generic for m, _ in repository.list_medications(session)]
    assert generics == sorted(generics)


def test_draft_drugs_are_recognised_but_carry_no_rule(session: Session,
                                                      kb_content: KbContent) -> None:
    drafts = [m for m in kb_content.medications if m.status is not schema.Status.approved]
    assert drafts, "the shipped KB keeps UNCONFIRMED drugs as drafts"
    served = {m.generic: m for m, _ in repository.list_medications(session)}
    for entry in drafts:
        medication = served[entry.generic]
        assert not medication.approved
        assert medication.rules == {} and medication.provenance is None
        assert not medication.inr_check
        assert all(medication.rule_for(r.value) is None for r in schema.RiskClass)


def test_named_examples(session: Session) -> None:
    """The drugs the acceptance criteria talk about, found by brand and misspelling."""
    by_name = {name: m for m, names in repository.list_medications(session) for name in names}
    rivaroxaban = by_name["xarelto"]
    rule = rivaroxaban.rule_for("intermediate")
    assert rivaroxaban.generic == "rivaroxaban"
    assert rule is not None and rule.action == "hold" and rule.hold_days == 3
    warfarin = by_name["coumadin"]
    rule = warfarin.rule_for("intermediate")
    assert rule is not None and rule.hold_days == 5 and warfarin.inr_check
    assert by_name["baby aspirin"].generic == "aspirin"
    assert by_name["eliquis"].generic == "apixaban"


def test_the_snapshot_finds_a_drug_by_any_name_in_any_case(session: Session) -> None:
    forget_snapshot()
    try:
        kb = current_snapshot(session)
    finally:
        forget_snapshot()
    for name in ("XARELTO ", "Xarelto", "rivaroxaban", " Rivaroxaban"):
        found = kb.medication(name)
        assert found is not None and found.generic == "rivaroxaban", name
    assert kb.medication("notarealdrugamab") is None


def test_red_flags_and_screening(session: Session, kb_content: KbContent) -> None:
    flags = repository.list_red_flags(session)
    assert [f.flag_id for f in flags] == sorted(f.id for f in _approved(kb_content.red_flags))
    assert {f.level for f in flags} == {"emergency", "crisis", "urgent"}
    approved = sorted(_approved(kb_content.red_flags), key=lambda f: f.id)
    for flag, entry in zip(flags, approved, strict=True):
        assert flag.provenance == _provenance_of(entry, entry.id)
        assert set(flag.patterns) >= {"en", "es"}
    screening = repository.list_screening(session)
    assert {s.item_id for s in screening} == {s.id for s in _approved(kb_content.screening)}
    pregnancy = next(s for s in screening if s.item_id == "screening.pregnancy")
    assert pregnancy.text_key == "screening.pregnancy"
    assert any("pregnan" in term for term in pregnancy.terms["en"])


def test_registry_and_fingerprint(session: Session, kb_content: KbContent) -> None:
    content = repository.get_registry_content(session)
    assert content is not None and Registry.model_validate(content) == kb_content.registry
    assert repository.kb_fingerprint(session) == kb_content.fingerprint


def test_dtos_are_frozen_and_outlive_the_session(kb_engine: Engine) -> None:
    """Actions get plain values back from the worker thread: no session, no lazy load."""
    with sessionmaker(kb_engine)() as session:
        medications = repository.list_medications(session)
        texts = repository.list_texts(session)
        clinic = repository.get_clinic(session)
    values = [m for m, _ in medications] + texts + [clinic]
    assert all(dataclasses.is_dataclass(v) and not isinstance(v, models.KbBase) for v in values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        texts[0].short = "changed"  # type: ignore[misc]
    warfarin = next(m for m, _ in medications if m.generic == "warfarin")
    assert warfarin.rule_for("low") is not None  # rules were read while the session was open


# ------------------------------------------------------------------------------ unapproved data
def _edit(path: Path, change: Any) -> None:
    document = yaml.safe_load(path.read_text("utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")


def _add_drafts(kb_dir: Path) -> dict[str, str]:
    """Draft entries beside the approved ones; returns the draft ids by kind."""
    def text_draft(document: dict[str, Any]) -> None:
        original = next(t for t in document["texts"] if t["key"] == "driver.taxi.false")
        document["texts"].append(dict(original, id="text.en.driver.taxi.false.draft",
                                      short="DRAFT: take any taxi alone.", status="draft"))

    def translation_draft(document: dict[str, Any]) -> None:
        next(t for t in document["texts"] if t["key"] == "driver.no_driver")["status"] = "draft"

    def flag_draft(document: dict[str, Any]) -> None:
        original = dict(document["red_flags"][0])
        document["red_flags"].append(dict(original, id="red_flag.draft_only",
                                          status="draft", evidence="UNCONFIRMED"))

    def procedure_draft(document: dict[str, Any]) -> None:
        original = next(p for p in document["procedures"] if p["site"] == "lumbar")
        document["procedures"].append(dict(original, id="procedure.lumbar_draft",
                                           risk_class="high", status="draft",
                                           site_terms={"en": ["draft-only back"]},
                                           site_patterns=[]))

    def screening_draft(document: dict[str, Any]) -> None:
        original = dict(document["screening"][0])
        document["screening"].append(dict(original, id="screening.draft_only",
                                          status="draft", terms={"en": ["draft-only"]}))

    def advice_texts(prefix: str, key: str) -> Any:
        def add(document: dict[str, Any]) -> None:
            original = next(t for t in document["texts"] if t["key"].startswith(prefix))
            document["texts"].append(dict(original, key=key))  # a flag's text must exist
        return add

    _edit(kb_dir / "texts" / "en" / "triage.yml",
          advice_texts("triage.flag.", "triage.flag.draft_only"))
    _edit(kb_dir / "texts" / "en" / "screening.yml",
          advice_texts("screening.", "screening.draft_only"))
    _edit(kb_dir / "texts" / "en" / "driver.yml", text_draft)
    _edit(kb_dir / "texts" / "es" / "driver.yml", translation_draft)
    _edit(kb_dir / "red_flags.yml", flag_draft)
    _edit(kb_dir / "procedures.yml", procedure_draft)
    _edit(kb_dir / "screening.yml", screening_draft)
    return {"text": "text.en.driver.taxi.false.draft", "translation": "text.es.driver.no_driver",
            "red_flag": "red_flag.draft_only", "procedure": "procedure.lumbar_draft",
            "screening": "screening.draft_only"}


@pytest.fixture
def with_drafts(kb_copy: Path, new_engine: EngineFactory) -> Iterator[tuple[Session, dict[str,
                                                                                      str]]]:
    """A KB with draft texts, a draft translation, red flag, procedure and screening item."""
    drafts = _add_drafts(kb_copy)
    content = load_or_fail(kb_copy)
    engine = new_engine()
    build_database(content, engine, str(kb_copy))
    with sessionmaker(engine)() as session:
        stored = set(session.scalars(select(models.TextRow.id)))
        assert {drafts["text"], drafts["translation"]} <= stored  # stored for staff...
        yield session, drafts


def test_unapproved_entries_are_never_served(with_drafts: tuple[Session, dict[str, str]]) -> None:
    session, drafts = with_drafts
    texts = repository.list_texts(session)
    served_ids = {t.provenance.entry_id for t in texts}
    assert drafts["text"] not in served_ids and drafts["translation"] not in served_ids
    assert "DRAFT" not in " ".join(t.short for t in texts)
    assert not any(t.key == "driver.no_driver" and t.language == "es" for t in texts)
    assert any(t.key == "driver.no_driver" and t.language == "en" for t in texts)
    assert drafts["red_flag"] not in {f.flag_id for f in repository.list_red_flags(session)}
    assert drafts["screening"] not in {s.item_id for s in repository.list_screening(session)}
    procedures = repository.list_procedures(session)
    assert [p.provenance.entry_id for p in procedures if p.site == "lumbar"] == [
        "procedure.lumbar"]
    assert {p.risk_class for p in procedures if p.site == "lumbar"} == {"low"}


def test_a_draft_translation_is_served_in_english(with_drafts: tuple[Session,
                                                                     dict[str, str]]) -> None:
    """The snapshot answers the Spanish patient with the approved English text, marked as not
    translated (the writer then adds the KB's note)."""
    session, _ = with_drafts
    forget_snapshot()
    try:
        served = current_snapshot(session).text("driver.no_driver", "es")
    finally:
        forget_snapshot()
    assert served is not None and not served.translated
    assert served.provenance.entry_id == "text.en.driver.no_driver"


# ------------------------------------------------------------------------------ rebuilds
def test_a_rebuild_replaces_the_kb_and_the_snapshot_follows(kb_copy: Path,
                                                            new_engine: EngineFactory) -> None:
    engine = new_engine()
    first = load_or_fail(KB_DIR)
    build_database(first, engine, str(KB_DIR))
    factory = sessionmaker(engine)
    forget_snapshot()
    try:
        with factory() as session:
            before = current_snapshot(session)
            assert current_snapshot(session) is before  # cached while the KB is unchanged
        _edit(kb_copy / "fasting.yml", lambda d: d["fasting"].__setitem__("fatty_meal_hours", 10))
        second = load_or_fail(kb_copy)
        build_database(second, engine, str(kb_copy))
        with factory() as session:
            after = current_snapshot(session)
            assert repository.kb_fingerprint(session) == second.fingerprint
            assert session.scalar(select(func.count()).select_from(models.FastingRow)) == 1
    finally:
        forget_snapshot()
    assert before.fasting.fatty_meal_hours == 8 and after.fasting.fatty_meal_hours == 10
    assert after.values("en")["fatty_meal_hours"] == "10"


def test_a_failed_rebuild_leaves_the_old_kb(new_engine: EngineFactory,
                                            tmp_path: Path) -> None:
    """Readers see the old protocol or the new one, never a half-loaded mix: a build that fails
    part-way (here a duplicate text id, which the validator would never let through) rolls
    back the dropped tables and every insert."""
    engine = new_engine()
    old = load_or_fail(KB_DIR)
    build_database(old, engine, str(KB_DIR))
    changed_dir = tmp_path / "kb"
    shutil.copytree(KB_DIR, changed_dir)
    _edit(changed_dir / "fasting.yml", lambda d: d["fasting"].__setitem__("fatty_meal_hours", 10))
    broken = load_or_fail(changed_dir)
    broken.texts = [*broken.texts, broken.texts[0]]
    with pytest.raises(IntegrityError):
        build_database(broken, engine, str(changed_dir))
    with sessionmaker(engine)() as session:
        assert repository.kb_fingerprint(session) == old.fingerprint
        fasting = repository.get_fasting_rules(session)
        assert fasting is not None and fasting.fatty_meal_hours == 8
        assert len(repository.list_texts(session)) == len(
            [t for t in old.texts if t.entry.status is schema.Status.approved])
