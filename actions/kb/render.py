"""Fill an answer's {placeholders} with values from the clinic profile and fasting policy.

Why one function: the same filling runs when answers are served and when KB text is rendered
into Rasa responses at build time, so the two can never disagree.
"""

from __future__ import annotations

import string
from typing import Mapping, Protocol


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
    def arrival_lead_minutes(self) -> int: ...


class _FastingLike(Protocol):
    @property
    def light_meal_hours(self) -> float: ...
    @property
    def fatty_meal_hours(self) -> float: ...
    @property
    def clear_liquids_hours(self) -> float: ...


def describe_opening_hours(hours: Mapping[str, str]) -> str:
    """Opening hours as one line, consecutive equal days grouped: "Mon-Thu 08:00-17:00"."""
    groups: list[tuple[list[str], str]] = []
    for day, value in hours.items():
        if value == "closed":
            groups.append(([], "closed"))
            continue
        if groups and groups[-1][1] == value:
            groups[-1][0].append(day)
        else:
            groups.append(([day], value))
    parts = []
    for days, value in groups:
        if not days:
            continue
        first, last = days[0][:3].title(), days[-1][:3].title()
        parts.append(f"{first}-{last} {value}" if len(days) > 1 else f"{first} {value}")
    return ", ".join(parts)


def format_hours(hours: float) -> str:
    """2.0 -> "2", 1.5 -> "1.5"."""
    return f"{hours:g}"


def template_values(
    clinic: _ClinicLike, fasting: _FastingLike, opening_hours: Mapping[str, str]
) -> dict[str, str]:
    """Values every answer text may use (keys.GLOBAL_PLACEHOLDERS)."""
    return {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_address": clinic.address,
        "emergency_number": clinic.emergency_number,
        "arrival_lead_minutes": str(clinic.arrival_lead_minutes),
        "opening_hours": describe_opening_hours(opening_hours),
        "light_meal_hours": format_hours(fasting.light_meal_hours),
        "fatty_meal_hours": format_hours(fasting.fatty_meal_hours),
        "clear_liquids_hours": format_hours(fasting.clear_liquids_hours),
    }


class MissingValue(KeyError):
    """An answer needs a value the caller did not provide (a programming error)."""


def fill(text: str, values: Mapping[str, object]) -> str:
    """Replace {placeholders}; raises MissingValue naming the first one without a value."""
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None and name not in values:
            raise MissingValue(name)
    return text.format_map(values)
