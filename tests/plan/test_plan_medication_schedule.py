"""Example tests for medication advice, including the issue's acceptance scenarios."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from actions.kb.dto import Medication, MedicationRule
from actions.plan.clock import UTC, PartOfDay, part_of_day
from actions.plan.fasting import arrival_time
from actions.plan.medication_schedule import (
    AdviceKind,
    Contact,
    advise,
    ask_deadline,
)

NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=NY)
TWICE = (dt.time(8), dt.time(20))  # the patient's usual times for a twice-daily drug
MORNING = (dt.time(8),)


class Rule:
    """A rule without its risk class; `drug` fills that in."""

    def __init__(
        self,
        action: str,
        hold_days: int | None = None,
        hold_hours: int | None = None,
        restart_hours: int | None = None,
    ) -> None:
        self.values = (action, hold_days, hold_hours, restart_hours)

    def at(self, risk_class: str) -> MedicationRule:
        action, hold_days, hold_hours, restart_hours = self.values
        return MedicationRule(risk_class, action, hold_days, hold_hours, restart_hours)


def drug(
    generic: str,
    rules: dict[str, Rule],
    *,
    schedule: str = "twice_daily",
    approved: bool = True,
    prescriber_must_approve: bool = False,
) -> Medication:
    built = {risk: rule.at(risk) for risk, rule in rules.items()}
    return Medication(
        generic=generic,
        drug_class="anticoagulant",
        schedule=schedule,
        brands=(),
        prescriber_must_approve=prescriber_must_approve,
        approved=approved,
        rules=built,
    )


HOLD_3 = Rule("hold", hold_days=3, restart_hours=24)
PRESCRIBER = Rule("prescriber_decides")
APIXABAN = drug(
    "apixaban",
    {"low": PRESCRIBER, "intermediate": HOLD_3, "high": HOLD_3},
    prescriber_must_approve=True,
)
WARFARIN = drug(
    "warfarin",
    {"intermediate": Rule("hold", hold_days=5, restart_hours=24)},
    schedule="once_daily",
    prescriber_must_approve=True,
)


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NY)


def test_acceptance_apixaban_cervical_ten_days_ahead() -> None:
    start = at(2026, 11, 28, 8)
    assert arrival_time(start, 30) == at(2026, 11, 28, 7, 30)
    advice = advise(APIXABAN, "intermediate", start, NOW, dose_times=TWICE)
    assert advice.kind is AdviceKind.HOLD
    # No dose within 72 h before 08:00 on the 28th: the 08:00 dose on the 25th is the last one.
    assert advice.no_dose_from == at(2026, 11, 25, 8)
    assert advice.last_dose == at(2026, 11, 25, 8)
    assert advice.restart_at == at(2026, 11, 29, 8)
    assert not advice.last_dose_in_past
    assert advice.contact is Contact.PRESCRIBER  # stopping it needs the prescriber's approval
    assert (advice.ask_by, advice.ask_today) == (dt.date(2026, 11, 24), False)


def test_acceptance_warfarin_two_days_ahead_is_too_late() -> None:
    advice = advise(WARFARIN, "intermediate", at(2026, 11, 20, 8), NOW)
    assert advice.kind is AdviceKind.TOO_LATE
    assert advice.contact is Contact.CLINIC
    assert (advice.ask_by, advice.ask_today) == (dt.date(2026, 11, 18), True)
    assert advice.last_dose is None and advice.restart_at is None


def test_too_late_starts_exactly_at_the_hold_boundary() -> None:
    start = at(2026, 11, 28, 8)
    boundary = at(2026, 11, 25, 8)
    assert advise(APIXABAN, "intermediate", start, boundary).kind is AdviceKind.TOO_LATE
    before = boundary - dt.timedelta(minutes=1)
    assert advise(APIXABAN, "intermediate", start, before).kind is AdviceKind.HOLD


def test_without_the_patients_dose_times_only_the_limit_is_given() -> None:
    advice = advise(APIXABAN, "intermediate", at(2026, 11, 28, 8), NOW)
    assert advice.kind is AdviceKind.HOLD
    assert advice.no_dose_from == at(2026, 11, 25, 8) and advice.last_dose is None


def test_last_allowed_dose_already_taken_is_not_too_late() -> None:
    # Hold starts at 14:00 today; the 08:00 dose this morning was the last allowed one.
    advice = advise(APIXABAN, "intermediate", at(2026, 11, 21, 14), NOW, dose_times=TWICE)
    assert advice.kind is AdviceKind.HOLD
    assert advice.last_dose == at(2026, 11, 18, 8)
    assert advice.last_dose_in_past


@pytest.mark.parametrize(
    ("start_hour", "last_dose", "part"),
    [
        (7, at(2026, 11, 24, 20), PartOfDay.EVENING),
        (8, at(2026, 11, 25, 8), PartOfDay.MORNING),
        (19, at(2026, 11, 25, 8), PartOfDay.MORNING),
        (21, at(2026, 11, 25, 20), PartOfDay.EVENING),
    ],
)
def test_morning_or_evening_dose(start_hour: int, last_dose: dt.datetime, part: PartOfDay) -> None:
    advice = advise(APIXABAN, "intermediate", at(2026, 11, 28, start_hour), NOW, dose_times=TWICE)
    assert advice.last_dose == last_dose
    assert part_of_day(last_dose.time()) is part


def test_once_daily_morning_dose() -> None:
    advice = advise(WARFARIN, "intermediate", at(2026, 12, 10, 8), NOW, dose_times=MORNING)
    assert advice.kind is AdviceKind.HOLD
    assert advice.last_dose == at(2026, 12, 5, 8)
    advice = advise(WARFARIN, "intermediate", at(2026, 12, 10, 7, 59), NOW, dose_times=MORNING)
    assert advice.last_dose == at(2026, 12, 4, 8)


def test_once_daily_evening_dose() -> None:
    evening_only = (dt.time(18),)
    advice = advise(WARFARIN, "intermediate", at(2026, 12, 10, 8), NOW, dose_times=evening_only)
    assert advice.last_dose == at(2026, 12, 4, 18)


def test_spring_forward_hold_counts_real_hours() -> None:
    # DST starts 14 Mar 2027. 72 real hours before Mon 15 Mar 08:00 EDT is Fri 12 Mar 07:00 EST,
    # so the Friday 08:00 dose is inside the window and Thursday evening's is the last.
    advice = advise(APIXABAN, "intermediate", at(2027, 3, 15, 8), at(2027, 3, 1, 8),
                    dose_times=TWICE)
    assert advice.no_dose_from == at(2027, 3, 12, 7)
    assert advice.last_dose == at(2027, 3, 11, 20)
    assert advice.restart_at == at(2027, 3, 16, 8)


def test_fall_back_hold_counts_real_hours() -> None:
    # DST ends 1 Nov 2026. 72 real hours before Mon 2 Nov 08:00 EST is Fri 30 Oct 09:00 EDT.
    advice = advise(APIXABAN, "intermediate", at(2026, 11, 2, 8), at(2026, 10, 20, 8),
                    dose_times=TWICE)
    assert advice.no_dose_from == at(2026, 10, 30, 9)
    assert advice.last_dose == at(2026, 10, 30, 8)


def test_repeated_wall_time_is_read_at_its_later_instant() -> None:
    # 01:30 happens twice on 1 Nov 2026; only the first is before the hold starts (06:00 UTC),
    # so the dose that night is not allowed and the previous night's is the last.
    start = dt.datetime(2026, 11, 4, 6, 0, tzinfo=UTC).astimezone(NY)
    night = (dt.time(1, 30),)
    nightly = drug("x", {"high": HOLD_3}, schedule="once_daily")
    advice = advise(nightly, "high", start, at(2026, 10, 20, 8), dose_times=night)
    assert advice.last_dose is not None
    assert advice.last_dose.astimezone(UTC) == dt.datetime(2026, 10, 31, 5, 30, tzinfo=UTC)


def test_skipped_wall_time_is_read_at_its_later_instant() -> None:
    # 02:30 does not exist on 14 Mar 2027 (it would be 03:30 EDT, after the hold starts).
    start = at(2027, 3, 17, 3)
    night = (dt.time(2, 30),)
    advice = advise(
        drug("x", {"high": HOLD_3}, schedule="once_daily"),
        "high",
        start,
        at(2027, 3, 1, 8),
        dose_times=night,
    )
    assert advice.no_dose_from is not None
    assert advice.no_dose_from.astimezone(UTC) == dt.datetime(2027, 3, 14, 7, 0, tzinfo=UTC)
    assert advice.last_dose == at(2027, 3, 13, 2, 30)


def test_weekly_drug_gets_no_invented_dose_day() -> None:
    weekly_hold = Rule("hold", hold_days=7, restart_hours=24)
    weekly = drug("semaglutide", {"low": weekly_hold}, schedule="weekly")
    advice = advise(weekly, "low", at(2026, 12, 10, 8), NOW)
    assert advice.kind is AdviceKind.HOLD
    assert advice.last_dose is None
    assert advice.no_dose_from == at(2026, 12, 3, 8)
    assert advice.contact is Contact.PRESCRIBER and advice.ask_by is None


def test_hold_in_hours() -> None:
    nsaid = drug("ibuprofen", {"low": Rule("hold", hold_hours=24, restart_hours=0)})
    advice = advise(nsaid, "low", at(2026, 12, 10, 8), NOW, dose_times=MORNING)
    assert advice.last_dose == at(2026, 12, 9, 8)
    assert advice.restart_at == at(2026, 12, 10, 8)


def test_prescriber_decides_asks_the_day_before_the_strictest_hold() -> None:
    advice = advise(APIXABAN, "low", at(2026, 11, 28, 8), NOW)
    assert advice.kind is AdviceKind.PRESCRIBER_DECIDES
    assert advice.contact is Contact.PRESCRIBER
    assert (advice.ask_by, advice.ask_today) == (dt.date(2026, 11, 24), False)
    assert advice.last_dose is None


def test_prescriber_decides_soon_means_today() -> None:
    advice = advise(APIXABAN, "low", at(2026, 11, 21, 8), NOW)
    assert (advice.ask_by, advice.ask_today) == (dt.date(2026, 11, 18), True)


def test_ask_window_defaults_to_seven_days_without_any_hold() -> None:
    never_held = drug("clopidogrel", {"low": PRESCRIBER})
    assert ask_deadline(never_held, at(2026, 12, 10, 8), NOW) == (dt.date(2026, 12, 2), False)


@pytest.mark.parametrize(
    ("medication", "kind", "contact"),
    [
        (drug("x", {"low": Rule("continue")}), AdviceKind.USUALLY_CONTINUED, Contact.CLINIC),
        (drug("x", {"low": Rule("call_clinic")}), AdviceKind.CALL_CLINIC, Contact.CLINIC),
        (drug("x", {"high": HOLD_3}), AdviceKind.CALL_CLINIC, Contact.CLINIC),  # no rule for low
        (drug("x", {"low": HOLD_3}, approved=False), AdviceKind.NOT_REVIEWED, Contact.CLINIC),
    ],
)
def test_kinds_without_dates(medication: Medication, kind: AdviceKind, contact: Contact) -> None:
    advice = advise(medication, "low", at(2026, 12, 10, 8), NOW)
    assert (advice.kind, advice.contact) == (kind, contact)
    assert advice.last_dose is None and advice.restart_at is None and advice.ask_by is None


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        advise(APIXABAN, "intermediate", dt.datetime(2026, 12, 10, 8), NOW)
