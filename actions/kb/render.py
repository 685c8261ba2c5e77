"""Fill an answer's {placeholders} with values from the clinic profile and fasting policy.

Why one function: the same filling runs when answers are served and when KB text is rendered
into Rasa responses at build time, so the two can never disagree.
"""

from __future__ import annotations

import string
from typing import Final, Mapping, Protocol

# Values every text may use (filled from the clinic profile and the fasting policy).
GLOBAL_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {
        "clinic_name",
        "clinic_phone",
        "clinic_address",
        "emergency_number",
        "crisis_line",
        "crisis_line_name",
        "out_of_hours_phone",
        "arrival_lead_minutes",
        "opening_hours",
        "opening_week",
        "light_meal_hours",
        "fatty_meal_hours",
        "clear_liquids_hours",
    }
)


class _ClinicLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def emergency_number(self) -> str: ...
    @property
    def crisis_line(self) -> str: ...
    @property
    def crisis_line_name(self) -> str: ...
    @property
    def out_of_hours_phone(self) -> str | None: ...
    @property
    def arrival_lead_minutes(self) -> int: ...


class _FastingLike(Protocol):
    @property
    def light_meal_hours(self) -> float: ...
    @property
    def fatty_meal_hours(self) -> float: ...
    @property
    def clear_liquids_hours(self) -> float: ...


def format_hours(hours: float) -> str:
    """2.0 -> "2", 1.5 -> "1.5"."""
    return f"{hours:g}"


def template_values(
    clinic: _ClinicLike, fasting: _FastingLike, opening_hours_text: str,
    opening_week_text: str | None = None,
) -> dict[str, str]:
    """Values every text may use (GLOBAL_PLACEHOLDERS); opening hours already in words (the
    open days; `opening_week` names the closed days too, for "are you open on Saturday?")."""
    return {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_address": clinic.address,
        "emergency_number": clinic.emergency_number,
        "crisis_line": clinic.crisis_line,
        "crisis_line_name": clinic.crisis_line_name,
        "out_of_hours_phone": clinic.out_of_hours_phone or clinic.emergency_number,
        "arrival_lead_minutes": str(clinic.arrival_lead_minutes),
        "opening_hours": opening_hours_text,
        "opening_week": opening_week_text or opening_hours_text,
        "light_meal_hours": format_hours(fasting.light_meal_hours),
        "fatty_meal_hours": format_hours(fasting.fatty_meal_hours),
        "clear_liquids_hours": format_hours(fasting.clear_liquids_hours),
    }


class MissingValue(KeyError):
    """An answer needs a value the caller did not provide (a programming error)."""


def fill(text: str, values: Mapping[str, object]) -> str:
    """Replace {placeholders}; raises MissingValue naming the first one without a value.

    A value that ends a sentence itself ("8:00 a. m.", "etc.") before the text's own full stop
    keeps one full stop, not two."""
    parts: list[str] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if parts and literal.startswith(".") and parts[-1].endswith("."):
            literal = literal[1:]
        parts.append(literal)
        if name is None:
            continue
        if name not in values:
            raise MissingValue(name)
        field = "{" + name + ("!" + conversion if conversion else "") + (
            ":" + spec if spec else "") + "}"
        parts.append(field.format_map(values))
    return "".join(parts)
