"""Property-based tests of the plan's date arithmetic across DST changes, month and year ends.

Every interval is checked in UTC (real elapsed time); every wall time is checked in the zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from actions.kb.dto import FastingRules, Medication, MedicationRule, Provenance
from actions.plan.clock import UTC, add_months, part_of_day, wall_instant
from actions.plan.date_text import next_day_of_month
from actions.plan.dates import AppointmentIssue, parse_appointment
from actions.plan.fasting import compute_fasting_cutoffs
from actions.plan.medication_schedule import AdviceKind, advise, ask_deadline

ZONES = ("America/New_York", "Europe/Madrid", "Australia/Sydney", "UTC")
HOURS = {day: "00:00-23:59" for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}
HOURS |= {"saturday": "00:00-23:59", "sunday": "00:00-23:59"}
PROVENANCE = Provenance("x", "test", "V", "test", dt.date(2026, 1, 1))
PROFILE = settings(max_examples=200, deadline=None, database=None)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _transitions(zone: str) -> list[dt.date]:
    """Local dates on which the zone's UTC offset changes, 2025-2029."""
    tz = ZoneInfo(zone)
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(5 * 366)]
    return [
        day
        for day in days
        if dt.datetime.combine(day, dt.time(0), tz).utcoffset()
        != dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz).utcoffset()
    ]


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}
assert all(TRANSITIONS[zone] for zone in ZONES if zone != "UTC")


@st.composite
def clinic_days(draw: st.DrawFn, zone: str) -> dt.date:
    """Any day, or one near a DST change, a month end or a year end."""
    near = TRANSITIONS[zone] or [dt.date(2026, 3, 29)]
    anchor = draw(
        st.one_of(
            st.dates(dt.date(2025, 1, 1), dt.date(2029, 12, 31)),
            st.sampled_from(near),
            st.builds(dt.date, st.integers(2025, 2029), st.integers(1, 12), st.just(1)),
            st.builds(dt.date, st.integers(2025, 2029), st.just(12), st.just(31)),
        )
    )
    return anchor + dt.timedelta(days=draw(st.integers(-4, 15)))


@st.composite
def moments(draw: st.DrawFn) -> dt.datetime:
    """An aware procedure start (or arrival) in one of the test zones, at a 5-minute step."""
    zone = draw(st.sampled_from(ZONES))
    day = draw(clinic_days(zone))
    at = dt.time(draw(st.integers(0, 23)), draw(st.sampled_from(range(0, 60, 5))))
    return wall_instant(day, at, ZoneInfo(zone))


hold_rules = st.one_of(
    st.builds(lambda d, r: ("hold_days", d, r), st.integers(1, 14), st.integers(0, 72)),
    st.builds(lambda h, r: ("hold_hours", h, r), st.integers(1, 72), st.integers(0, 72)),
)
# Realistic dose times (06:00-23:30): never inside a DST gap or overlap in these zones, so the
# wall time of the last dose is exactly one of them. DST wall-time edge cases have example tests.
dose_time_sets = st.lists(
    st.sampled_from([dt.time(h, m) for h in range(6, 24) for m in (0, 30)]),
    min_size=1,
    max_size=3,
    unique=True,
).map(lambda times: tuple(sorted(times)))


def _held_drug(kind: str, amount: int, restart: int, schedule: str) -> Medication:
    rule = MedicationRule(
        risk_class="intermediate",
        action="hold",
        hold_days=amount if kind == "hold_days" else None,
        hold_hours=amount if kind == "hold_hours" else None,
        restart_hours=restart,
    )
    return Medication(
        generic="testdrug",
        drug_class="anticoagulant",
        schedule=schedule,
        brands=(),
        prescriber_must_approve=True,
        approved=True,
        rules={"intermediate": rule, "low": MedicationRule("low", "prescriber_decides")},
    )


@PROFILE
@given(
    start=moments(),
    rule=hold_rules,
    times=dose_time_sets,
    lead=st.one_of(st.integers(0, 40 * 24 * 60), st.integers(-5, 5)),
)
def test_hold_invariants(
    start: dt.datetime, rule: tuple[str, int, int], times: tuple[dt.time, ...], lead: int
) -> None:
    kind, amount, restart = rule
    medication = _held_drug(kind, amount, restart, "once_daily")
    hold = medication.rules["intermediate"].hold_window
    assert hold is not None
    boundary = start.astimezone(UTC) - hold
    now = (
        (boundary + dt.timedelta(minutes=lead))
        if abs(lead) <= 5
        else (start.astimezone(UTC) - dt.timedelta(minutes=lead))
    )
    advice = advise(medication, "intermediate", start, now, dose_times=times)

    assert advice.no_dose_from is not None
    assert advice.no_dose_from.astimezone(UTC) == boundary
    assert advice.no_dose_from.tzinfo is start.tzinfo
    if now >= boundary:
        assert advice.kind is AdviceKind.TOO_LATE
        assert advice.ask_today and advice.ask_by == now.astimezone(start.tzinfo).date()
        return
    assert advice.kind is AdviceKind.HOLD

    last = advice.last_dose
    assert last is not None and last.tzinfo is start.tzinfo
    assert last.astimezone(UTC) + hold <= start.astimezone(UTC)
    assert last.time() in times
    # No usual dose time between the last dose and the start of the hold.
    for days in range(0, 3):
        for at in times:
            dose = dt.datetime.combine(last.date() + dt.timedelta(days=days), at, start.tzinfo)
            if dose.astimezone(UTC) > last.astimezone(UTC):
                assert dose.astimezone(UTC) > boundary
    assert advice.last_dose_in_past == (last.astimezone(UTC) < now.astimezone(UTC))

    assert advice.restart_at is not None and advice.restart_at.tzinfo is start.tzinfo
    assert advice.restart_at.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=restart)


@PROFILE
@given(start=moments(), rule=hold_rules, schedule=st.sampled_from(["twice_daily", "weekly"]))
def test_no_dose_time_is_ever_assumed(start: dt.datetime, rule: tuple[str, int, int],
                                      schedule: str) -> None:
    medication = _held_drug(*rule, schedule)
    hold = medication.rules["intermediate"].hold_window
    assert hold is not None
    advice = advise(medication, "intermediate", start, start - dt.timedelta(days=30))
    assert advice.kind is AdviceKind.HOLD and advice.last_dose is None
    assert advice.no_dose_from is not None
    assert advice.no_dose_from.astimezone(UTC) == start.astimezone(UTC) - hold


@PROFILE
@given(start=moments(), rule=hold_rules, days_ahead=st.integers(0, 30))
def test_ask_by_is_before_the_strictest_hold(
    start: dt.datetime, rule: tuple[str, int, int], days_ahead: int
) -> None:
    medication = _held_drug(*rule, "twice_daily")
    hold = medication.rules["intermediate"].hold_window
    assert hold is not None
    now = start - dt.timedelta(days=days_ahead)
    ask_by, today = ask_deadline(medication, start, now)
    local_today = now.astimezone(start.tzinfo).date()
    hold_day = (start.astimezone(UTC) - hold).astimezone(start.tzinfo).date()
    if today:
        assert ask_by == local_today
        assert hold_day - dt.timedelta(days=1) <= local_today
    else:
        assert ask_by == hold_day - dt.timedelta(days=1)
        assert ask_by > local_today
    advice = advise(medication, "low", start, now)
    assert (advice.kind, advice.ask_by, advice.ask_today) == (
        AdviceKind.PRESCRIBER_DECIDES,
        ask_by,
        today,
    )


hour_steps = st.integers(0, 48).map(lambda halves: halves / 2)


@PROFILE
@given(arrival=moments(), light=hour_steps, fatty=hour_steps, clear=hour_steps)
def test_fasting_cutoffs_are_exact_elapsed_hours(
    arrival: dt.datetime, light: float, fatty: float, clear: float
) -> None:
    rules = FastingRules(
        applies_without_sedation=False,
        light_meal_hours=light,
        fatty_meal_hours=fatty,
        clear_liquids_hours=clear,
        gum_and_candy="allowed",
        medicines_with_sip_of_water=True,
        provenance=PROVENANCE,
    )
    cutoffs = compute_fasting_cutoffs(arrival, rules, sedation_planned=True)
    assert cutoffs is not None
    for cutoff, hours in (
        (cutoffs.light_meal, light),
        (cutoffs.fatty_meal, fatty),
        (cutoffs.clear_liquids, clear),
    ):
        assert cutoff.at.tzinfo is arrival.tzinfo
        assert arrival.astimezone(UTC) - cutoff.at.astimezone(UTC) == dt.timedelta(hours=hours)
        assert cutoff.days_before == (arrival.date() - cutoff.at.date()).days
        assert cutoff.days_before in (0, 1, 2)
        assert cutoff.part == part_of_day(cutoff.at.time())
    assert compute_fasting_cutoffs(arrival, rules, sedation_planned=False) is None


@settings(max_examples=100, deadline=None, database=None)
@given(
    zone=st.sampled_from(ZONES),
    now_day=st.dates(dt.date(2025, 1, 1), dt.date(2029, 12, 31)),
    ahead=st.integers(1, 360),
    order=st.sampled_from(["DMY", "MDY"]),
    style=st.sampled_from(["name", "numeric"]),
)
def test_written_dates_read_back(
    zone: str, now_day: dt.date, ahead: int, order: str, style: str
) -> None:
    now = wall_instant(now_day, dt.time(10), ZoneInfo(zone))
    target = now_day + dt.timedelta(days=ahead)
    if style == "name":
        text = f"{MONTHS[target.month - 1]} {target.day} {target.year} at 9:15"
    else:
        first, second = (target.day, target.month) if order == "DMY" else (target.month, target.day)
        text = f"my appointment is {first}/{second}/{target.year} at 9:15"
    parsed = parse_appointment(text, now=now, time_zone=zone, date_order=order, opening_hours=HOURS)
    assert (parsed.date, parsed.time) == (target, dt.time(9, 15))
    assert AppointmentIssue.PAST not in parsed.issues
    assert AppointmentIssue.TOO_FAR not in parsed.issues
    ambiguous = style == "numeric" and target.day <= 12 and target.day != target.month
    assert (AppointmentIssue.AMBIGUOUS in parsed.issues) is ambiguous
    start = parsed.start(zone)
    assert start is not None and start.astimezone(UTC).astimezone(start.tzinfo) == start


@PROFILE
@given(day=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)), months=st.integers(-30, 30))
def test_add_months(day: dt.date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + dt.timedelta(1)).day == 1)


@PROFILE
@given(today=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)), day=st.integers(1, 31))
def test_next_day_of_month(today: dt.date, day: int) -> None:
    found = next_day_of_month(day, today)
    assert found is not None and found.day == day and found >= today
    assert (found - today).days <= 62
    between = [today + dt.timedelta(n) for n in range((found - today).days)]
    assert all(other.day != day for other in between)
