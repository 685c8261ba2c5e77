"""Plain, immutable values the query layer hands to actions and the plan calculator.

Why: actions run the database work in a worker thread; returning frozen dataclasses means no
session, lazy load or ORM object ever crosses back to the event loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Provenance:
    """Where a statement comes from and who approved it; staff see this in transcripts."""

    entry_id: str
    source: str
    evidence: str
    reviewed_by: str
    reviewed_on: dt.date


@dataclass(frozen=True)
class ClinicProfile:
    """The clinic's contacts and conventions."""

    name: str
    phone: str
    emergency_number: str
    crisis_line: str
    crisis_line_name: str
    out_of_hours_phone: Optional[str]
    address: str
    time_zone: str
    date_order: str  # "DMY" or "MDY"
    clock: str  # "12h" or "24h"
    default_language: str
    market: str  # "us" | "uk" | "es": which brand names patients know
    arrival_lead_minutes: int
    opening_hours: dict[str, str]  # weekday name -> "HH:MM-HH:MM" or "closed"
    guideline: str
    driver_required_without_sedation: bool
    taxi_allowed_alone: bool
    provenance: Provenance


@dataclass(frozen=True)
class ProcedureVariant:
    """A procedure site with its bleeding-risk class, position and sedation policy."""

    site: str  # "lumbar" | "cervical"
    name: str
    risk_class: str  # "low" | "intermediate" | "high"
    position: str
    sedation: str
    sedation_planned_by_default: bool
    site_terms: dict[str, tuple[str, ...]]  # language -> words patients use
    site_patterns: tuple[str, ...]
    provenance: Provenance


@dataclass(frozen=True)
class FastingRules:
    """Fasting intervals in hours before arrival."""

    applies_without_sedation: bool
    light_meal_hours: float
    fatty_meal_hours: float
    clear_liquids_hours: float
    gum_and_candy: str
    medicines_with_sip_of_water: bool
    provenance: Provenance


@dataclass(frozen=True)
class MedicationRule:
    """The clinic's rule for one drug at one risk class."""

    risk_class: str
    action: str  # "continue" | "hold" | "prescriber_decides" | "call_clinic"
    hold_days: int | None = None
    hold_hours: int | None = None
    restart_hours: int | None = None
    hold_days_renal_impaired: int | None = None

    @property
    def hold_window(self) -> dt.timedelta | None:
        """How long before the procedure no dose may be taken, or None if not held."""
        if self.hold_days is not None:
            return dt.timedelta(days=self.hold_days)
        if self.hold_hours is not None:
            return dt.timedelta(hours=self.hold_hours)
        return None

    def window_for(self, renal_impaired: bool) -> dt.timedelta | None:
        """The hold window, the longer one when the kidneys do not work well."""
        if renal_impaired and self.hold_days_renal_impaired is not None:
            return dt.timedelta(days=self.hold_days_renal_impaired)
        return self.hold_window


@dataclass(frozen=True)
class Medication:
    """A catalogue drug. `approved` False means recognised but not reviewed: never advise on it."""

    generic: str
    drug_class: str
    schedule: str
    brands: tuple[str, ...]
    prescriber_must_approve: bool
    approved: bool
    inr_check: bool = False
    generic_names: dict[str, str] = field(default_factory=dict)  # language -> generic name
    brands_by_market: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rules: dict[str, MedicationRule] = field(default_factory=dict)
    provenance: Provenance | None = None

    def name_in(self, language: str) -> str:
        """The generic name as patients of that language read it."""
        return self.generic_names.get(language, self.generic)

    def brands_in(self, market: str) -> tuple[str, ...]:
        """The brand names patients of that market know (none: the generic is shown)."""
        return self.brands_by_market.get(market, ())

    def rule_for(self, risk_class: str) -> MedicationRule | None:
        """The rule for a risk class, or None when the entry is not approved."""
        return self.rules.get(risk_class) if self.approved else None


@dataclass(frozen=True)
class TextItem:
    """An approved text (placeholders not yet filled) and its provenance."""

    key: str
    language: str
    site: str
    short: str
    detail: str | None
    provenance: Provenance


@dataclass(frozen=True)
class RedFlagInfo:
    """A red-flag symptom, its triage level and its patterns per language."""

    flag_id: str
    level: str  # "emergency" | "crisis" | "urgent"
    category: str
    symptom: str
    patterns: dict[str, tuple[str, ...]]
    provenance: Provenance


@dataclass(frozen=True)
class ScreeningInfo:
    """A call-the-clinic condition with its words per language."""

    item_id: str
    condition: str
    terms: dict[str, tuple[str, ...]]
    provenance: Provenance

    @property
    def text_key(self) -> str:
        """The key of its advice text."""
        return "screening." + self.item_id.split(".", 1)[-1]
