"""Fasting cut-offs for one patient, as clock times counted back from their arrival.

Why elapsed time: "no light meal for 6 hours" is physiology, so a cut-off is exactly N real
hours before arrival (UTC arithmetic) and only then shown as the clinic's wall time. On a
daylight-saving night the wall clock therefore moves by one hour more or less than N.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from actions.kb.dto import FastingRules
from actions.plan.clock import PartOfDay, part_of_day, require_aware, shift


@dataclass(frozen=True)
class Cutoff:
    """One "stop by" moment: wall time in the clinic's zone, and how many days before arrival."""

    at: dt.datetime
    days_before: int  # calendar days before the arrival day: 0 same day, 1 the day before
    part: PartOfDay


@dataclass(frozen=True)
class FastingCutoffs:
    """When to stop a light meal, fatty food and clear liquids before `arrival`."""

    arrival: dt.datetime
    light_meal: Cutoff
    fatty_meal: Cutoff
    clear_liquids: Cutoff


def arrival_time(procedure_start: dt.datetime, lead_minutes: int) -> dt.datetime:
    """When the patient arrives: `lead_minutes` of real time before the procedure start."""
    return shift(procedure_start, -dt.timedelta(minutes=lead_minutes))


def fasting_required(rules: FastingRules, sedation_planned: bool) -> bool:
    """Fasting applies with sedation, and without it only if the clinic's policy says so."""
    return sedation_planned or rules.applies_without_sedation


def compute_fasting_cutoffs(
    arrival: dt.datetime, rules: FastingRules, sedation_planned: bool
) -> FastingCutoffs | None:
    """The cut-offs for this arrival, or None when no fast is needed."""
    require_aware(arrival, "arrival")
    if not fasting_required(rules, sedation_planned):
        return None
    return FastingCutoffs(
        arrival=arrival,
        light_meal=_cutoff(arrival, rules.light_meal_hours),
        fatty_meal=_cutoff(arrival, rules.fatty_meal_hours),
        clear_liquids=_cutoff(arrival, rules.clear_liquids_hours),
    )


def _cutoff(arrival: dt.datetime, hours: float) -> Cutoff:
    at = shift(arrival, -dt.timedelta(hours=hours))
    return Cutoff(
        at=at,
        days_before=(arrival.date() - at.date()).days,
        part=part_of_day(at.time()),
    )
