"""Query layer: functions taking a Session and returning plain DTOs.

Why: actions never see ORM objects or SQL; only `approved` rows ever leave this module, so the
"only approved entries are served" rule lives in exactly one place.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from actions.kb import dto, models

APPROVED = "approved"


def _provenance(row: models.ReviewedMixin, entry_id: str) -> dto.Provenance:
    return dto.Provenance(
        entry_id=entry_id,
        source=row.source,
        evidence=row.evidence,
        reviewed_by=row.reviewed_by,
        reviewed_on=row.reviewed_on,
    )


def kb_fingerprint(session: Session) -> str | None:
    """Fingerprint of the loaded YAML, or None when the KB was never built."""
    return session.scalar(select(models.KbVersion.fingerprint).where(models.KbVersion.id == 1))


def get_clinic(session: Session) -> dto.ClinicProfile | None:
    """The approved clinic profile."""
    row = session.scalars(
        select(models.ClinicRow).where(models.ClinicRow.status == APPROVED)
    ).first()
    if row is None:
        return None
    return dto.ClinicProfile(
        name=row.name,
        phone=row.phone,
        emergency_number=row.emergency_number,
        address=row.address,
        time_zone=row.time_zone,
        date_order=row.date_order,
        arrival_lead_minutes=row.arrival_lead_minutes,
        opening_hours=dict(row.opening_hours),
        guideline=row.guideline,
        driver_required_without_sedation=row.driver_required_without_sedation,
        taxi_allowed_alone=row.taxi_allowed_alone,
        provenance=_provenance(row, row.id),
    )


def get_fasting_rules(session: Session) -> dto.FastingRules | None:
    """The approved fasting policy."""
    row = session.scalars(
        select(models.FastingRow).where(models.FastingRow.status == APPROVED)
    ).first()
    if row is None:
        return None
    return dto.FastingRules(
        applies_without_sedation=row.applies_without_sedation,
        light_meal_hours=row.light_meal_hours,
        fatty_meal_hours=row.fatty_meal_hours,
        clear_liquids_hours=row.clear_liquids_hours,
        gum_and_candy=row.gum_and_candy,
        medicines_with_sip_of_water=row.medicines_with_sip_of_water,
        provenance=_provenance(row, row.id),
    )


def get_procedure(session: Session, site: str) -> dto.ProcedureVariant | None:
    """The approved procedure variant for a site ("lumbar" or "cervical")."""
    row = session.scalars(
        select(models.ProcedureRow).where(
            models.ProcedureRow.site == site, models.ProcedureRow.status == APPROVED
        )
    ).first()
    if row is None:
        return None
    return dto.ProcedureVariant(
        site=row.site,
        name=row.name,
        risk_class=row.risk_class,
        position=row.position,
        sedation=row.sedation,
        sedation_planned_by_default=row.sedation_planned_by_default,
        provenance=_provenance(row, row.id),
    )


def _medication(row: models.MedicationRow) -> dto.Medication:
    approved = row.status == APPROVED
    brands = tuple(n.name for n in row.names if n.kind == "brand")
    return dto.Medication(
        generic=row.generic,
        drug_class=row.drug_class,
        schedule=row.schedule,
        brands=tuple(dict.fromkeys(brands)),
        prescriber_must_approve=row.prescriber_must_approve,
        approved=approved,
        rules={
            r.risk_class: dto.MedicationRule(
                risk_class=r.risk_class,
                action=r.action,
                hold_days=r.hold_days,
                hold_hours=r.hold_hours,
                restart_hours=r.restart_hours,
            )
            for r in row.rules
        }
        if approved
        else {},
        provenance=_provenance(row, row.id) if approved else None,
    )


def find_medication(session: Session, name: str) -> dto.Medication | None:
    """Look a drug up by any of its names (case-insensitive).

    A drug that exists but is not approved comes back with approved=False and no rules, so the
    assistant can say "the clinic has not reviewed this one" instead of "never heard of it".
    """
    medication_id = session.scalar(
        select(models.MedicationNameRow.medication_id).where(
            models.MedicationNameRow.name_lower == func.lower(name.strip())
        )
    )
    if medication_id is None:
        return None
    row = session.scalars(
        select(models.MedicationRow)
        .where(models.MedicationRow.id == medication_id)
        .options(selectinload(models.MedicationRow.names), selectinload(models.MedicationRow.rules))
    ).one()
    return _medication(row)


def list_medications(session: Session, drug_class: str | None = None) -> list[dto.Medication]:
    """Every catalogue drug (approved or not), optionally one class, sorted by generic name."""
    query = select(models.MedicationRow).options(
        selectinload(models.MedicationRow.names), selectinload(models.MedicationRow.rules)
    )
    if drug_class is not None:
        query = query.where(models.MedicationRow.drug_class == drug_class)
    return [_medication(r) for r in session.scalars(query.order_by(models.MedicationRow.generic))]


def get_answer(session: Session, key: str, site: str | None = None) -> dto.AnswerText | None:
    """The approved answer for a key: the site-specific text if there is one, else `any`."""
    rows = session.scalars(
        select(models.AnswerRow).where(
            models.AnswerRow.key == key, models.AnswerRow.status == APPROVED
        )
    ).all()
    by_site = {r.site: r for r in rows}
    row = (by_site.get(site) if site else None) or by_site.get("any")
    if row is None:
        return None
    return dto.AnswerText(
        key=row.key, site=row.site, text=row.text, provenance=_provenance(row, row.id)
    )


def list_red_flags(session: Session) -> list[dto.RedFlagInfo]:
    """Approved red flags, emergencies first."""
    rows = session.scalars(
        select(models.RedFlagRow)
        .where(models.RedFlagRow.status == APPROVED)
        .order_by(models.RedFlagRow.action.desc(), models.RedFlagRow.id)
    )
    return [
        dto.RedFlagInfo(
            flag_id=r.id,
            action=r.action,
            symptom=r.symptom,
            advice=r.advice,
            patterns=tuple(r.patterns),
            provenance=_provenance(r, r.id),
        )
        for r in rows
    ]


def list_screening(session: Session) -> list[dto.ScreeningInfo]:
    """Approved call-the-clinic conditions."""
    rows = session.scalars(
        select(models.ScreeningRow)
        .where(models.ScreeningRow.status == APPROVED)
        .order_by(models.ScreeningRow.id)
    )
    return [
        dto.ScreeningInfo(
            item_id=r.id,
            condition=r.condition,
            advice=r.advice,
            terms=tuple(r.terms),
            provenance=_provenance(r, r.id),
        )
        for r in rows
    ]
