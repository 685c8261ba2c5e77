"""The query layer returns only approved content, per topic, site and drug, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from actions.kb import repository, schema
from actions.kb.keys import REQUIRED_ANSWER_KEYS
from actions.kb.loader import KbContent


def test_clinic_and_fasting(session: Session, kb_content: KbContent) -> None:
    clinic = repository.get_clinic(session)
    assert clinic is not None
    assert clinic.name == kb_content.clinic.name
    assert clinic.emergency_number == kb_content.clinic.emergency_number
    assert clinic.opening_hours["saturday"] == kb_content.clinic.opening_hours.saturday
    fasting = repository.get_fasting_rules(session)
    assert fasting is not None
    assert fasting.clear_liquids_hours == kb_content.fasting.clear_liquids_hours
    assert fasting.provenance.source == kb_content.fasting.source


@pytest.mark.parametrize(("site", "risk_class"), [("lumbar", "low"), ("cervical", "intermediate")])
def test_procedure_risk_class_per_site(session: Session, site: str, risk_class: str) -> None:
    procedure = repository.get_procedure(session, site)
    assert procedure is not None
    assert procedure.risk_class == risk_class


@pytest.mark.parametrize("key", sorted(REQUIRED_ANSWER_KEYS))
def test_every_required_answer_is_served(session: Session, key: str) -> None:
    for site in (None, "lumbar", "cervical"):
        found = repository.get_answer(session, key, site)
        assert found is not None, f"{key} ({site})"
        assert found.provenance.source


def test_site_specific_answer_wins(session: Session, kb_content: KbContent) -> None:
    per_site = {(a.key, a.site.value): a for a in kb_content.answers
                if a.status is schema.Status.approved}
    for (key, site), expected in per_site.items():
        if site == "any":
            continue
        found = repository.get_answer(session, key, site)
        assert found is not None and found.text == expected.text and found.site == site


def test_draft_answers_are_never_served(session: Session, kb_content: KbContent) -> None:
    drafts = [a for a in kb_content.answers if a.status is not schema.Status.approved]
    for draft in drafts:
        for site in (None, "lumbar", "cervical"):
            found = repository.get_answer(session, draft.key, site)
            assert found is None or found.provenance.entry_id != draft.id


def _approved_medications(kb_content: KbContent) -> list[schema.Medication]:
    return [m for m in kb_content.medications if m.status is schema.Status.approved]


def test_every_drug_rule_per_risk_class(session: Session, kb_content: KbContent) -> None:
    for entry in _approved_medications(kb_content):
        medication = repository.find_medication(session, entry.generic)
        assert medication is not None and medication.approved, entry.generic
        for risk, rule in entry.rules.items():
            served = medication.rule_for(risk.value)
            assert served is not None
            assert (served.action, served.hold_days, served.hold_hours, served.restart_hours) == (
                rule.action.value, rule.hold_days, rule.hold_hours, rule.restart_hours
            ), f"{entry.generic} {risk.value}"


def test_drug_found_by_brand_and_misspelling(session: Session, kb_content: KbContent) -> None:
    for entry in kb_content.medications:
        for name in [*entry.brands.us, *entry.brands.uk, *entry.brands.es, *entry.misspellings]:
            found = repository.find_medication(session, name.upper())
            assert found is not None and found.generic == entry.generic, name


def test_draft_drug_is_recognised_but_not_advised(session: Session,
                                                  kb_content: KbContent) -> None:
    drafts = [m for m in kb_content.medications if m.status is not schema.Status.approved]
    assert drafts, "the default KB keeps UNCONFIRMED drugs as drafts"
    for entry in drafts:
        found = repository.find_medication(session, entry.generic)
        assert found is not None and not found.approved
        assert found.rule_for("low") is None and found.provenance is None


def test_unknown_drug(session: Session) -> None:
    assert repository.find_medication(session, "notarealdrugamab") is None


def test_named_examples(session: Session) -> None:
    """The drugs the acceptance criteria talk about."""
    rivaroxaban = repository.find_medication(session, "Xarelto")
    assert rivaroxaban is not None and rivaroxaban.generic == "rivaroxaban"
    rule = rivaroxaban.rule_for("intermediate")
    assert rule is not None and rule.action == "hold" and rule.hold_days == 3
    warfarin = repository.find_medication(session, "coumadin")
    assert warfarin is not None
    rule = warfarin.rule_for("intermediate")
    assert rule is not None and rule.hold_days == 5
    aspirin = repository.find_medication(session, "baby aspirin")
    assert aspirin is not None and aspirin.generic == "aspirin"


def test_red_flags_and_screening(session: Session, kb_content: KbContent) -> None:
    flags = repository.list_red_flags(session)
    assert {f.flag_id for f in flags} == {
        f.id for f in kb_content.red_flags if f.status is schema.Status.approved
    }
    assert flags[0].action == "emergency"
    screening = repository.list_screening(session)
    assert any("pregnan" in " ".join(s.terms) for s in screening)


def test_fingerprint_recorded(session: Session, kb_content: KbContent) -> None:
    assert repository.kb_fingerprint(session) == kb_content.fingerprint


def test_list_medications_by_class(session: Session) -> None:
    anticoagulants = repository.list_medications(session, "anticoagulant")
    assert anticoagulants and all(m.drug_class == "anticoagulant" for m in anticoagulants)
    assert [m.generic for m in anticoagulants] == sorted(m.generic for m in anticoagulants)
