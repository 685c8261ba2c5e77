"""The shape of the clinic's protocol as authored in YAML (`data/kb/`).

Why pydantic: every rule below (required fields, unknown keys, ranges, enums) is declared once
and produces a located error that the validator turns into one readable line per problem.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from enum import Enum
from typing import Annotated, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EntryId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)]
NonEmpty = Annotated[str, Field(min_length=1)]


class Status(str, Enum):
    """Review state. Only `approved` entries are ever shown to patients."""

    draft = "draft"
    approved = "approved"
    retired = "retired"


class Evidence(str, Enum):
    """Evidence status from clinical-facts.md; `clinic` = the clinic's own reviewed protocol."""

    verbatim = "V"
    secondary = "S"
    unconfirmed = "UNCONFIRMED"
    clinic = "clinic"


class RiskClass(str, Enum):
    """Bleeding-risk class of a pain procedure (ASRA 2018 pain guideline)."""

    low = "low"
    intermediate = "intermediate"
    high = "high"


class Site(str, Enum):
    """Where the procedure is done; `any` marks text that applies to every site."""

    any = "any"
    lumbar = "lumbar"
    cervical = "cervical"


class Language(str, Enum):
    """Languages the assistant writes in; every text exists in English, others may lag behind."""

    en = "en"
    es = "es"


class TriageLevel(str, Enum):
    """How urgently a symptom needs care (reliability-security.md section 5; clinical-facts 15)."""

    emergency = "emergency"  # call the emergency number now
    crisis = "crisis"  # thoughts of self-harm or suicide: crisis line and emergency number
    urgent = "urgent"  # call the clinic today (out of hours: the clinic's instruction)


class Market(str, Enum):
    """Where the clinic's patients buy their medicines: which brand names they know."""

    us = "us"
    uk = "uk"
    es = "es"


class Clock(str, Enum):
    """How the clinic's patients read times: "8:00 am" (12h) or "08:00" (24h)."""

    h12 = "12h"
    h24 = "24h"


class DrugClass(str, Enum):
    """Medicine groups patients name ("my blood thinner") and the rules group by."""

    anticoagulant = "anticoagulant"
    antiplatelet = "antiplatelet"
    nsaid = "nsaid"
    supplement = "supplement"
    glp1_agonist = "glp1_agonist"
    sglt2_inhibitor = "sglt2_inhibitor"
    insulin = "insulin"
    oral_antidiabetic = "oral_antidiabetic"  # diabetes tablets (metformin)
    antidepressant = "antidepressant"


class DoseSchedule(str, Enum):
    """How often the drug is usually taken; lets the plan name the morning/evening dose."""

    once_daily = "once_daily"
    twice_daily = "twice_daily"
    weekly = "weekly"
    varies = "varies"


class RuleAction(str, Enum):
    """What the clinic's protocol says for one drug and one risk class."""

    continue_ = "continue"
    hold = "hold"
    prescriber_decides = "prescriber_decides"
    call_clinic = "call_clinic"


class Position(str, Enum):
    """How the patient lies on the table."""

    face_down = "face_down"
    face_up = "face_up"
    side = "side"
    per_clinic = "per_clinic"


class SedationPolicy(str, Enum):
    """What the clinic offers besides local anaesthetic."""

    local_only = "local_only"
    light_optional = "light_optional"
    light_routine = "light_routine"


class GumRule(str, Enum):
    """Chewing gum / hard candy on the day."""

    allowed = "allowed"
    until_clear_liquids_cutoff = "until_clear_liquids_cutoff"
    not_on_the_day = "not_on_the_day"


class DateOrder(str, Enum):
    """How the clinic's patients write dates: 3/12 is 12 March (DMY) or 3 December (MDY)."""

    DMY = "DMY"
    MDY = "MDY"


class Strict(BaseModel):
    """Base for every authored block: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ReviewFields(Strict):
    """Provenance every patient-facing entry carries (who approved it, on what evidence)."""

    source: NonEmpty
    evidence: Evidence
    reviewed_by: NonEmpty
    reviewed_on: dt.date
    status: Status

    @model_validator(mode="after")
    def _unconfirmed_is_never_approved(self) -> ReviewFields:
        if self.evidence is Evidence.unconfirmed and self.status is Status.approved:
            raise ValueError(
                "evidence is UNCONFIRMED but status is approved: a clinician must confirm the "
                "value and set evidence to 'clinic' (or V/S with a source) before approving"
            )
        return self

    @field_validator("reviewed_on")
    @classmethod
    def _not_in_future(cls, value: dt.date) -> dt.date:
        if value > dt.date.today():
            raise ValueError(f"reviewed_on {value} is in the future")
        return value


class Reviewed(ReviewFields):
    """A reviewed entry with an explicit id."""

    id: EntryId


_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class OpeningHours(Strict):
    """Opening hours per weekday as "HH:MM-HH:MM", or "closed"."""

    monday: str
    tuesday: str
    wednesday: str
    thursday: str
    friday: str
    saturday: str
    sunday: str

    @model_validator(mode="after")
    def _valid_ranges(self) -> OpeningHours:
        for day in WEEKDAYS:
            value = getattr(self, day)
            if value != "closed" and not _HOURS.match(value):
                raise ValueError(f"{day}: '{value}' is not 'HH:MM-HH:MM' or 'closed'")
            if value != "closed" and value[:5] >= value[6:]:
                raise ValueError(f"{day}: opening time must be before closing time")
        return self


PhoneNumber = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ().-]{5,24}$")]
ShortNumber = Annotated[str, Field(pattern=r"^[0-9][0-9 ]{1,9}$")]


class Clinic(Reviewed):
    """The clinic profile: contacts, emergency and crisis numbers, time zone, conventions.

    Profiles live in data/kb/clinics/<name>.yml; KB_CLINIC picks the one loaded (README).
    """

    name: NonEmpty
    phone: PhoneNumber
    emergency_number: ShortNumber
    crisis_line: ShortNumber  # suicide and crisis line (988 in the US, 024 in Spain)
    crisis_line_name: NonEmpty
    out_of_hours_phone: Optional[PhoneNumber] = None  # None: out of hours, the emergency number
    address: NonEmpty
    time_zone: NonEmpty
    date_order: DateOrder
    clock: Clock
    default_language: Language
    market: Market  # brand names shown to patients come from this market
    arrival_lead_minutes: Annotated[int, Field(ge=0, le=180)]
    opening_hours: OpeningHours
    guideline: NonEmpty
    driver_required_without_sedation: bool
    taxi_allowed_alone: bool

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value


Terms = dict[Language, list[NonEmpty]]


def _check_patterns(value: Terms) -> Terms:
    for patterns in value.values():
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern '{pattern}' is not a valid regex: {exc}") from exc
    return value


def _english_required(value: Terms) -> Terms:
    if not value.get(Language.en):
        raise ValueError("needs an English ('en') list")
    return value


class Procedure(Reviewed):
    """One procedure variant (site) with its bleeding-risk class, position and sedation."""

    site: Site
    name: NonEmpty  # staff-facing; patients see the texts' site names
    risk_class: RiskClass
    position: Position
    sedation: SedationPolicy
    sedation_planned_by_default: bool
    site_terms: Terms  # words patients use for this site, per language
    site_patterns: list[NonEmpty] = []  # language-independent ("L4-L5", "C3")

    @field_validator("site")
    @classmethod
    def _concrete_site(cls, value: Site) -> Site:
        if value is Site.any:
            raise ValueError("a procedure needs a concrete site (lumbar or cervical)")
        return value

    @field_validator("site_terms")
    @classmethod
    def _terms_have_english(cls, value: Terms) -> Terms:
        return _english_required(value)

    @field_validator("site_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        _check_patterns({Language.en: value})
        return value


class FastingPolicy(Reviewed):
    """When to stop eating and drinking, counted back from the arrival time."""

    applies_without_sedation: bool
    light_meal_hours: Annotated[float, Field(ge=0, le=24)]
    fatty_meal_hours: Annotated[float, Field(ge=0, le=24)]
    clear_liquids_hours: Annotated[float, Field(ge=0, le=24)]
    gum_and_candy: GumRule
    medicines_with_sip_of_water: bool

    @model_validator(mode="after")
    def _ordered(self) -> FastingPolicy:
        if not self.clear_liquids_hours <= self.light_meal_hours <= self.fatty_meal_hours:
            raise ValueError(
                "expected clear_liquids_hours <= light_meal_hours <= fatty_meal_hours"
            )
        return self


class MedicationRule(Strict):
    """The protocol for one drug at one risk class."""

    action: RuleAction
    hold_days: Optional[Annotated[int, Field(ge=1, le=14)]] = None
    hold_hours: Optional[Annotated[int, Field(ge=1, le=72)]] = None
    # A longer hold when the kidneys do not work well (dabigatran): the plan asks first.
    hold_days_renal_impaired: Optional[Annotated[int, Field(ge=1, le=14)]] = None
    restart_hours: Optional[Annotated[int, Field(ge=0, le=72)]] = None

    @model_validator(mode="after")
    def _hold_has_exactly_one_duration(self) -> MedicationRule:
        durations = [d for d in (self.hold_days, self.hold_hours) if d is not None]
        if self.action is RuleAction.hold and len(durations) != 1:
            raise ValueError("action 'hold' needs exactly one of hold_days or hold_hours")
        if self.action is not RuleAction.hold and (
            durations or self.restart_hours is not None or self.hold_days_renal_impaired
        ):
            raise ValueError(
                f"action '{self.action.value}' must not set hold_days/hold_hours/restart_hours"
            )
        if self.action is RuleAction.hold and self.restart_hours is None:
            raise ValueError("action 'hold' needs restart_hours (when to start again)")
        if self.hold_days_renal_impaired is not None and (
            self.hold_days is None or self.hold_days_renal_impaired <= self.hold_days
        ):
            raise ValueError("hold_days_renal_impaired needs hold_days and must be longer")
        return self


class Brands(Strict):
    """Brand names by market."""

    us: list[NonEmpty] = []
    uk: list[NonEmpty] = []
    es: list[NonEmpty] = []


class Medication(Reviewed):
    """One generic drug: its names, class and hold/restart rule per risk class."""

    generic: Annotated[str, Field(pattern=r"^[a-z][a-z0-9 -]*$")]
    generic_names: dict[Language, NonEmpty] = {}  # the generic as patients read it, per language
    drug_class: DrugClass
    schedule: DoseSchedule
    brands: Brands
    misspellings: list[NonEmpty] = []
    prescriber_must_approve: bool
    inr_check: bool = False  # an INR blood test before the procedure (vitamin K antagonists)
    rules: dict[RiskClass, MedicationRule]

    @model_validator(mode="after")
    def _every_risk_class(self) -> Medication:
        missing = [r.value for r in RiskClass if r not in self.rules]
        if missing:
            raise ValueError(f"rules missing for risk class(es): {', '.join(missing)}")
        return self


TextKey = Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z0-9_]+)+$", max_length=80)]


class TextEntry(ReviewFields):
    """One patient-facing text in one language (data/kb/texts/<language>/*.yml).

    `short` is the direct answer (two SMS segments at most once filled); `detail` is what the
    patient gets after "tell me more". The language comes from the folder.
    """

    key: TextKey
    site: Site = Site.any
    short: NonEmpty
    detail: Optional[NonEmpty] = None
    id: Optional[EntryId] = None  # derived from language, key and site when absent

    @field_validator("short", "detail")
    @classmethod
    def _placeholders_parse(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        try:
            list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ValueError(f"text has a malformed {{placeholder}}: {exc}") from exc
        return " ".join(value.split())

    def entry_id(self, language: Language) -> str:
        """The id staff see in transcripts: the explicit one, or text.<lang>.<key>[.<site>]."""
        if self.id:
            return self.id
        suffix = "" if self.site is Site.any else f".{self.site.value}"
        return f"text.{language.value}.{self.key}{suffix}"


class RedFlag(Reviewed):
    """A symptom that needs care, its triage level, and the patterns that catch it.

    What the patient is told is the text `triage.flag.<name>` (id `red_flag.<name>`).
    """

    level: TriageLevel
    category: NonEmpty
    symptom: NonEmpty  # staff-facing description
    patterns: Terms

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: Terms) -> Terms:
        return _check_patterns(_english_required(value))

    @property
    def text_key(self) -> str:
        """The key of the advice text shown for this flag."""
        return "triage.flag." + self.id.split(".", 1)[-1]


class ScreeningItem(Reviewed):
    """A "call the clinic before your appointment" condition; its advice is `screening.<name>`."""

    condition: NonEmpty  # staff-facing description
    terms: Terms

    @field_validator("terms")
    @classmethod
    def _terms_have_english(cls, value: Terms) -> Terms:
        return _english_required(value)

    @property
    def text_key(self) -> str:
        """The key of the advice text shown for this condition."""
        return "screening." + self.id.split(".", 1)[-1]
