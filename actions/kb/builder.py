"""Write validated content into the KB database in one transaction.

Why one transaction: readers (the action server) see either the old protocol or the new one,
never a half-loaded mix.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from actions.kb import models, schema
from actions.kb.loader import KbContent

_REVIEW_FIELDS = ("source", "evidence", "reviewed_by", "reviewed_on", "status")


def _review(entry: schema.Reviewed) -> dict[str, object]:
    values = {name: getattr(entry, name) for name in _REVIEW_FIELDS}
    values["evidence"] = entry.evidence.value
    values["status"] = entry.status.value
    return values


def _medication_row(med: schema.Medication) -> models.MedicationRow:
    row = models.MedicationRow(
        id=med.id,
        generic=med.generic,
        drug_class=med.drug_class.value,
        schedule=med.schedule.value,
        prescriber_must_approve=med.prescriber_must_approve,
        **_review(med),
    )
    names: dict[str, tuple[str, str, str | None]] = {
        med.generic.lower(): (med.generic, "generic", None)
    }
    for market in ("us", "uk", "es"):
        for brand in getattr(med.brands, market):
            names.setdefault(brand.lower(), (brand, "brand", market))
    for spelling in med.misspellings:
        names.setdefault(spelling.lower(), (spelling, "misspelling", None))
    row.names = [
        models.MedicationNameRow(name=name, name_lower=lower, kind=kind, market=market)
        for lower, (name, kind, market) in names.items()
    ]
    row.rules = [
        models.MedicationRuleRow(
            risk_class=risk.value,
            action=rule.action.value,
            hold_days=rule.hold_days,
            hold_hours=rule.hold_hours,
            restart_hours=rule.restart_hours,
        )
        for risk, rule in med.rules.items()
    ]
    return row


def _rows(kb: KbContent) -> list[models.KbBase]:
    clinic = kb.clinic
    rows: list[models.KbBase] = [
        models.ClinicRow(
            id=clinic.id,
            name=clinic.name,
            phone=clinic.phone,
            emergency_number=clinic.emergency_number,
            address=clinic.address,
            time_zone=clinic.time_zone,
            date_order=clinic.date_order.value,
            arrival_lead_minutes=clinic.arrival_lead_minutes,
            opening_hours=clinic.opening_hours.model_dump(),
            guideline=clinic.guideline,
            driver_required_without_sedation=clinic.driver_required_without_sedation,
            taxi_allowed_alone=clinic.taxi_allowed_alone,
            **_review(clinic),
        ),
        models.FastingRow(
            id=kb.fasting.id,
            applies_without_sedation=kb.fasting.applies_without_sedation,
            light_meal_hours=kb.fasting.light_meal_hours,
            fatty_meal_hours=kb.fasting.fatty_meal_hours,
            clear_liquids_hours=kb.fasting.clear_liquids_hours,
            gum_and_candy=kb.fasting.gum_and_candy.value,
            medicines_with_sip_of_water=kb.fasting.medicines_with_sip_of_water,
            **_review(kb.fasting),
        ),
    ]
    rows += [
        models.ProcedureRow(
            id=p.id,
            site=p.site.value,
            name=p.name,
            risk_class=p.risk_class.value,
            position=p.position.value,
            sedation=p.sedation.value,
            sedation_planned_by_default=p.sedation_planned_by_default,
            **_review(p),
        )
        for p in kb.procedures
    ]
    rows += [_medication_row(m) for m in kb.medications]
    rows += [
        models.AnswerRow(
            id=a.id, key=a.key, topic=a.topic.value, site=a.site.value, text=a.text, **_review(a)
        )
        for a in kb.answers
    ]
    rows += [
        models.RedFlagRow(
            id=f.id,
            action=f.action.value,
            symptom=f.symptom,
            advice=f.advice,
            patterns=list(f.patterns),
            **_review(f),
        )
        for f in kb.red_flags
    ]
    rows += [
        models.ScreeningRow(
            id=s.id, condition=s.condition, advice=s.advice, terms=list(s.terms), **_review(s)
        )
        for s in kb.screening
    ]
    return rows


def build_database(kb: KbContent, engine: Engine, source_dir: str) -> int:
    """Replace the KB tables' content with `kb`; returns the number of entries written."""
    models.KbBase.metadata.create_all(engine)
    rows = _rows(kb)
    with Session(engine) as session, session.begin():
        for table in reversed(models.KbBase.metadata.sorted_tables):
            session.execute(delete(table))
        session.add_all(rows)
        session.add(
            models.KbVersion(
                id=1,
                fingerprint=kb.fingerprint,
                loaded_at=dt.datetime.now(dt.timezone.utc),
                source_dir=source_dir,
            )
        )
    return sum(1 for _ in kb.all_entries())
