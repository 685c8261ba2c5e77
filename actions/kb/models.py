"""SQLAlchemy 2.x tables holding the loaded protocol (read-only at runtime).

Why a database and not the YAML directly: several action-server processes (and PostgreSQL in
production) read one consistent, atomically replaced copy, and staff can query it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class KbBase(DeclarativeBase):
    """Base for knowledge-base tables: rebuilt from YAML by `make kb`."""

    def __repr__(self) -> str:
        key = getattr(self, "id", None)
        return f"<{type(self).__name__} {key!r}>"


class ReviewedMixin:
    """Provenance columns every patient-facing row carries."""

    source: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(16))
    reviewed_by: Mapped[str] = mapped_column(String(200))
    reviewed_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)


class KbVersion(KbBase):
    """Which YAML content is loaded, so actions and staff can tell what is being served."""

    __tablename__ = "kb_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    clinic_profile: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    source_dir: Mapped[str] = mapped_column(Text)


class ClinicRow(ReviewedMixin, KbBase):
    """The clinic profile (one row)."""

    __tablename__ = "kb_clinic"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    emergency_number: Mapped[str] = mapped_column(String(12))
    crisis_line: Mapped[str] = mapped_column(String(12))
    crisis_line_name: Mapped[str] = mapped_column(String(120))
    out_of_hours_phone: Mapped[Optional[str]] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(String(64))
    date_order: Mapped[str] = mapped_column(String(3))
    clock: Mapped[str] = mapped_column(String(3))
    default_language: Mapped[str] = mapped_column(String(8))
    market: Mapped[str] = mapped_column(String(4))
    arrival_lead_minutes: Mapped[int] = mapped_column(Integer)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    guideline: Mapped[str] = mapped_column(Text)
    driver_required_without_sedation: Mapped[bool]
    taxi_allowed_alone: Mapped[bool]


class ProcedureRow(ReviewedMixin, KbBase):
    """A procedure variant (site)."""

    __tablename__ = "kb_procedure"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    site: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    risk_class: Mapped[str] = mapped_column(String(16))
    position: Mapped[str] = mapped_column(String(16))
    sedation: Mapped[str] = mapped_column(String(24))
    sedation_planned_by_default: Mapped[bool]
    site_terms: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    site_patterns: Mapped[list[str]] = mapped_column(JSON)


class FastingRow(ReviewedMixin, KbBase):
    """The fasting policy (one row)."""

    __tablename__ = "kb_fasting"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    applies_without_sedation: Mapped[bool]
    light_meal_hours: Mapped[float]
    fatty_meal_hours: Mapped[float]
    clear_liquids_hours: Mapped[float]
    gum_and_candy: Mapped[str] = mapped_column(String(40))
    medicines_with_sip_of_water: Mapped[bool]


class MedicationRow(ReviewedMixin, KbBase):
    """A catalogue drug."""

    __tablename__ = "kb_medication"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    generic: Mapped[str] = mapped_column(String(80), unique=True)
    generic_names: Mapped[dict[str, str]] = mapped_column(JSON)
    drug_class: Mapped[str] = mapped_column(String(32), index=True)
    schedule: Mapped[str] = mapped_column(String(16))
    prescriber_must_approve: Mapped[bool]
    inr_check: Mapped[bool]
    names: Mapped[list[MedicationNameRow]] = relationship(
        back_populates="medication", cascade="all, delete-orphan"
    )
    rules: Mapped[list[MedicationRuleRow]] = relationship(
        back_populates="medication", cascade="all, delete-orphan"
    )


class MedicationNameRow(KbBase):
    """Every way a patient may write a drug: generic, brands, common misspellings."""

    __tablename__ = "kb_medication_name"
    __table_args__ = (UniqueConstraint("name_lower"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    medication_id: Mapped[str] = mapped_column(ForeignKey("kb_medication.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    name_lower: Mapped[str] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # generic | brand | misspelling
    market: Mapped[Optional[str]] = mapped_column(String(4))
    medication: Mapped[MedicationRow] = relationship(back_populates="names")


class MedicationRuleRow(KbBase):
    """The hold/restart rule for one drug at one risk class."""

    __tablename__ = "kb_medication_rule"

    medication_id: Mapped[str] = mapped_column(
        ForeignKey("kb_medication.id", ondelete="CASCADE"), primary_key=True
    )
    risk_class: Mapped[str] = mapped_column(String(16), primary_key=True)
    action: Mapped[str] = mapped_column(String(24))
    hold_days: Mapped[Optional[int]]
    hold_hours: Mapped[Optional[int]]
    hold_days_renal_impaired: Mapped[Optional[int]]
    restart_hours: Mapped[Optional[int]]
    medication: Mapped[MedicationRow] = relationship(back_populates="rules")


class TextRow(ReviewedMixin, KbBase):
    """A patient-facing text for a key, language and site."""

    __tablename__ = "kb_text"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    site: Mapped[str] = mapped_column(String(16))
    short: Mapped[str] = mapped_column(Text)
    detail: Mapped[Optional[str]] = mapped_column(Text)


class RedFlagRow(ReviewedMixin, KbBase):
    """A red-flag symptom with its triage level and patterns per language."""

    __tablename__ = "kb_red_flag"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(40))
    symptom: Mapped[str] = mapped_column(Text)
    patterns: Mapped[dict[str, list[str]]] = mapped_column(JSON)


class ScreeningRow(ReviewedMixin, KbBase):
    """A call-the-clinic condition."""

    __tablename__ = "kb_screening"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    condition: Mapped[str] = mapped_column(Text)
    terms: Mapped[dict[str, list[str]]] = mapped_column(JSON)


class RegistryRow(KbBase):
    """The topic registry (data/kb/topics.yml) as validated JSON, so readers use the same one."""

    __tablename__ = "kb_registry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
