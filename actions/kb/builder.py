"""Write validated content into the KB database in one transaction.

Why one transaction: readers (the action server) see either the old protocol or the new one,
never a half-loaded mix.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from actions.kb import models, schema
from actions.kb.loader import KbContent

_REVIEW_FIELDS = ("source", "evidence", "reviewed_by", "reviewed_on", "status")


def _review(entry: schema.ReviewFields) -> dict[str, object]:
    values = {name: getattr(entry, name) for name in _REVIEW_FIELDS}
    values["evidence"] = entry.evidence.value
    values["status"] = entry.status.value
    return values


def _medication_row(med: schema.Medication) -> models.MedicationRow:
    row = models.MedicationRow(
        id=med.id,
        generic=med.generic,
        generic_names={lang.value: name for lang, name in med.generic_names.items()},
        drug_class=med.drug_class.value,
        schedule=med.schedule.value,
        prescriber_must_approve=med.prescriber_must_approve,
        inr_check=med.inr_check,
        **_review(med),
    )
    names: dict[str, tuple[str, str, str | None]] = {
        med.generic.lower(): (med.generic, "generic", None)
    }
    for translated in med.generic_names.values():
        names.setdefault(translated.lower(), (translated, "generic", None))
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
            hold_days_renal_impaired=rule.hold_days_renal_impaired,
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
            crisis_line=clinic.crisis_line,
            crisis_line_name=clinic.crisis_line_name,
            out_of_hours_phone=clinic.out_of_hours_phone,
            address=clinic.address,
            time_zone=clinic.time_zone,
            date_order=clinic.date_order.value,
            clock=clinic.clock.value,
            default_language=clinic.default_language.value,
            market=clinic.market.value,
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
            site_terms={lang.value: list(terms) for lang, terms in p.site_terms.items()},
            site_patterns=list(p.site_patterns),
            **_review(p),
        )
        for p in kb.procedures
    ]
    rows += [_medication_row(m) for m in kb.medications]
    rows += [
        models.TextRow(
            id=t.id,
            key=t.entry.key,
            language=t.language.value,
            site=t.entry.site.value,
            short=t.entry.short,
            detail=t.entry.detail,
            **_review(t.entry),
        )
        for t in kb.texts
    ]
    rows += [
        models.RedFlagRow(
            id=f.id,
            level=f.level.value,
            category=f.category,
            symptom=f.symptom,
            patterns={lang.value: list(p) for lang, p in f.patterns.items()},
            **_review(f),
        )
        for f in kb.red_flags
    ]
    rows += [
        models.ScreeningRow(
            id=s.id,
            condition=s.condition,
            terms={lang.value: list(t) for lang, t in s.terms.items()},
            **_review(s),
        )
        for s in kb.screening
    ]
    rows.append(models.RegistryRow(id=1, content=kb.registry.model_dump(mode="json")))
    return rows


def build_database(kb: KbContent, engine: Engine, source_dir: str) -> int:
    """Replace the KB tables with `kb` in one transaction; returns the number of entries written.

    The tables are dropped and created again (their shape follows the code, and their content
    is always rebuilt from YAML), inside the same transaction as the inserts: PostgreSQL and
    SQLite both roll DDL back, so readers see the old KB or the new one, never a mix.
    """
    rows = _rows(kb)
    with engine.begin() as connection:
        models.KbBase.metadata.drop_all(connection)
        models.KbBase.metadata.create_all(connection)
        with Session(bind=connection) as session:
            session.add_all(rows)
            session.add(
                models.KbVersion(
                    id=1,
                    fingerprint=kb.fingerprint,
                    clinic_profile=kb.clinic_profile,
                    loaded_at=dt.datetime.now(dt.timezone.utc),
                    source_dir=source_dir,
                )
            )
            session.flush()
    return sum(1 for _ in kb.all_entries())
