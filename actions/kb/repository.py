"""Query layer: functions taking a Session and returning plain DTOs.

Why: actions never see ORM objects or SQL; only `approved` rows ever leave this module, so the
"only approved entries are served" rule lives in exactly one place. Draft medications are the
one exception, and they come back without rules so they can never steer an answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
        crisis_line=row.crisis_line,
        crisis_line_name=row.crisis_line_name,
        out_of_hours_phone=row.out_of_hours_phone,
        address=row.address,
        time_zone=row.time_zone,
        date_order=row.date_order,
        clock=row.clock,
        default_language=row.default_language,
        market=row.market,
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


def list_procedures(session: Session) -> list[dto.ProcedureVariant]:
    """Approved procedure variants (one per site)."""
    rows = session.scalars(
        select(models.ProcedureRow).where(models.ProcedureRow.status == APPROVED)
        .order_by(models.ProcedureRow.site)
    )
    return [
        dto.ProcedureVariant(
            site=row.site,
            name=row.name,
            risk_class=row.risk_class,
            position=row.position,
            sedation=row.sedation,
            sedation_planned_by_default=row.sedation_planned_by_default,
            site_terms={lang: tuple(terms) for lang, terms in (row.site_terms or {}).items()},
            site_patterns=tuple(row.site_patterns or ()),
            provenance=_provenance(row, row.id),
        )
        for row in rows
    ]


def _medication(row: models.MedicationRow) -> dto.Medication:
    approved = row.status == APPROVED
    brands = tuple(n.name for n in row.names if n.kind == "brand")
    by_market: dict[str, list[str]] = {}
    for name in row.names:
        if name.kind == "brand" and name.market:
            by_market.setdefault(name.market, []).append(name.name)
    return dto.Medication(
        generic=row.generic,
        drug_class=row.drug_class,
        schedule=row.schedule,
        brands=tuple(dict.fromkeys(brands)),
        prescriber_must_approve=row.prescriber_must_approve,
        approved=approved,
        inr_check=row.inr_check if approved else False,
        generic_names=dict(row.generic_names or {}),
        brands_by_market={market: tuple(names) for market, names in by_market.items()},
        rules={
            r.risk_class: dto.MedicationRule(
                risk_class=r.risk_class,
                action=r.action,
                hold_days=r.hold_days,
                hold_hours=r.hold_hours,
                restart_hours=r.restart_hours,
                hold_days_renal_impaired=r.hold_days_renal_impaired,
            )
            for r in row.rules
        }
        if approved
        else {},
        provenance=_provenance(row, row.id) if approved else None,
    )


def list_medications(session: Session) -> list[tuple[dto.Medication, tuple[str, ...]]]:
    """Every catalogue drug with every lower-case name it answers to, sorted by generic.

    Drafts are included (recognised, never advised on): their rules and class-based routing
    are withheld by `dto.Medication.approved`.
    """
    query = select(models.MedicationRow).options(
        selectinload(models.MedicationRow.names), selectinload(models.MedicationRow.rules)
    ).order_by(models.MedicationRow.generic)
    return [
        (_medication(row), tuple(n.name_lower for n in row.names))
        for row in session.scalars(query)
    ]


def list_texts(session: Session) -> list[dto.TextItem]:
    """Every approved text, all languages."""
    rows = session.scalars(
        select(models.TextRow).where(models.TextRow.status == APPROVED)
        .order_by(models.TextRow.language, models.TextRow.key, models.TextRow.site)
    )
    return [
        dto.TextItem(
            key=row.key,
            language=row.language,
            site=row.site,
            short=row.short,
            detail=row.detail,
            provenance=_provenance(row, row.id),
        )
        for row in rows
    ]


def list_red_flags(session: Session) -> list[dto.RedFlagInfo]:
    """Approved red flags, ordered by id."""
    rows = session.scalars(
        select(models.RedFlagRow)
        .where(models.RedFlagRow.status == APPROVED)
        .order_by(models.RedFlagRow.id)
    )
    return [
        dto.RedFlagInfo(
            flag_id=r.id,
            level=r.level,
            category=r.category,
            symptom=r.symptom,
            patterns={lang: tuple(p) for lang, p in (r.patterns or {}).items()},
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
            terms={lang: tuple(t) for lang, t in (r.terms or {}).items()},
            provenance=_provenance(r, r.id),
        )
        for r in rows
    ]


def get_registry_content(session: Session) -> dict[str, Any] | None:
    """The validated registry as loaded by `make kb` (JSON), or None."""
    return session.scalar(select(models.RegistryRow.content).where(models.RegistryRow.id == 1))
