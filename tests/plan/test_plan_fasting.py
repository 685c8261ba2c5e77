"""Fasting cut-offs: real elapsed hours before arrival, shown as the clinic's wall time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from actions.kb.dto import FastingRules, Provenance
from actions.plan.clock import PartOfDay
from actions.plan.fasting import arrival_time, compute_fasting_cutoffs

PROVENANCE = Provenance("fasting.policy", "test", "V", "test", dt.date(2026, 11, 20))


def rules(*, applies_without_sedation: bool = False) -> FastingRules:
    return FastingRules(
        applies_without_sedation=applies_without_sedation,
        light_meal_hours=6,
        fatty_meal_hours=8,
        clear_liquids_hours=2,
        gum_and_candy="until_clear_liquids_cutoff",
        medicines_with_sip_of_water=True,
        provenance=PROVENANCE,
    )


def test_default_policy_for_a_morning_arrival() -> None:
    ny = ZoneInfo("America/New_York")
    arrival = arrival_time(dt.datetime(2026, 12, 3, 8, 0, tzinfo=ny), 30)
    cutoffs = compute_fasting_cutoffs(arrival, rules(), sedation_planned=True)
    assert cutoffs is not None
    assert arrival == dt.datetime(2026, 12, 3, 7, 30, tzinfo=ny)
    assert cutoffs.light_meal.at == dt.datetime(2026, 12, 3, 1, 30, tzinfo=ny)
    assert cutoffs.light_meal.days_before == 0
    assert cutoffs.fatty_meal.at == dt.datetime(2026, 12, 2, 23, 30, tzinfo=ny)
    assert cutoffs.fatty_meal.days_before == 1
    assert cutoffs.fatty_meal.part is PartOfDay.NIGHT
    assert cutoffs.clear_liquids.at == dt.datetime(2026, 12, 3, 5, 30, tzinfo=ny)


def test_no_fast_without_sedation_unless_the_clinic_requires_it() -> None:
    arrival = dt.datetime(2026, 12, 3, 7, 30, tzinfo=ZoneInfo("UTC"))
    assert compute_fasting_cutoffs(arrival, rules(), sedation_planned=False) is None
    required = rules(applies_without_sedation=True)
    assert compute_fasting_cutoffs(arrival, required, sedation_planned=False) is not None


def test_spring_forward_night_counts_real_hours() -> None:
    # Madrid skips 02:00-03:00 on 28 Mar 2027: 8 real hours before 08:00 is 23:00 the day before.
    madrid = ZoneInfo("Europe/Madrid")
    arrival = dt.datetime(2027, 3, 28, 8, 0, tzinfo=madrid)
    cutoffs = compute_fasting_cutoffs(arrival, rules(), sedation_planned=True)
    assert cutoffs is not None
    assert cutoffs.fatty_meal.at.replace(tzinfo=None) == dt.datetime(2027, 3, 27, 23, 0)
    assert cutoffs.light_meal.at.replace(tzinfo=None) == dt.datetime(2027, 3, 28, 1, 0)


def test_fall_back_night_counts_real_hours() -> None:
    # New York repeats 01:00-02:00 on 1 Nov 2026: 8 real hours before 07:00 is 00:00.
    ny = ZoneInfo("America/New_York")
    arrival = dt.datetime(2026, 11, 1, 7, 0, tzinfo=ny)
    cutoffs = compute_fasting_cutoffs(arrival, rules(), sedation_planned=True)
    assert cutoffs is not None
    assert cutoffs.fatty_meal.at.replace(tzinfo=None) == dt.datetime(2026, 11, 1, 0, 0)
    assert cutoffs.fatty_meal.days_before == 0
