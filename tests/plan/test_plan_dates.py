"""Example tests for reading appointment dates, with a fixed `now` (Wed 18 Nov 2026, 10:00)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from actions.plan.dates import AppointmentIssue, ParsedAppointment, parse_appointment

NY = "America/New_York"
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo(NY))  # a Wednesday
HOURS = {
    "monday": "08:00-17:00",
    "tuesday": "08:00-17:00",
    "wednesday": "08:00-17:00",
    "thursday": "08:00-17:00",
    "friday": "08:00-16:00",
    "saturday": "closed",
    "sunday": "closed",
}
PAST = AppointmentIssue.PAST
TOO_FAR = AppointmentIssue.TOO_FAR
AMBIGUOUS = AppointmentIssue.AMBIGUOUS
CLOSED = AppointmentIssue.CLINIC_CLOSED
NO_DATE = AppointmentIssue.NO_DATE
APPROXIMATE = AppointmentIssue.APPROXIMATE_TIME


def parse(
    text: str, order: str = "MDY", now: dt.datetime = NOW, zone: str = NY
) -> ParsedAppointment:
    return parse_appointment(text, now=now, time_zone=zone, date_order=order, opening_hours=HOURS)


def d(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)


def t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


@pytest.mark.parametrize("order", ["MDY", "DMY"])
@pytest.mark.parametrize(
    ("text", "date", "time", "issues"),
    [
        ("next Tuesday", d(2026, 11, 24), None, ()),
        ("Dec 3rd at 8:30", d(2026, 12, 3), t(8, 30), ()),
        ("tomorrow morning", d(2026, 11, 19), t(8), (APPROXIMATE,)),
        ("in two weeks", d(2026, 12, 2), None, ()),
        ("on the 20th", d(2026, 11, 20), None, ()),
        ("the 20th at 8am", d(2026, 11, 20), t(8), ()),
        ("friday 7:30am", d(2026, 11, 20), t(7, 30), ()),
        ("My rhizotomy is on Dec 3 at 8am, it's my neck", d(2026, 12, 3), t(8), ()),
        ("I have my appointment next Tuesday at 9", d(2026, 11, 24), t(9), ()),
        ("appointment at 8:30 next Tuesday", d(2026, 11, 24), t(8, 30), ()),
        ("tomorrow morning at 9", d(2026, 11, 19), t(9), ()),
        ("tomorrow evening at 6", d(2026, 11, 19), t(18), ()),
        ("noon tomorrow", d(2026, 11, 19), t(12), ()),
        ("December the 3rd at 2pm", d(2026, 12, 3), t(14), ()),
        ("3rd Dec", d(2026, 12, 3), None, ()),
        ("Thursday the 3rd", d(2026, 12, 3), None, ()),
        ("the 5th of next month at 10:15", d(2026, 12, 5), t(10, 15), (CLOSED,)),
        ("15/3", d(2027, 3, 15), None, ()),
        ("2026-12-03 08:00", d(2026, 12, 3), t(8), ()),
        ("I stopped eliquis 2 days ago and my procedure is on Friday", d(2026, 11, 20), None, ()),
        ("I may come on Friday", d(2026, 11, 20), None, ()),
        # SMS spellings
        ("thurs next wk at 0830", d(2026, 11, 26), t(8, 30), ()),
        ("next wk fri 8.30am", d(2026, 11, 27), t(8, 30), ()),
        ("nxt tues at 2pm", d(2026, 11, 24), t(14), ()),
        ("2moro at 9am", d(2026, 11, 19), t(9), ()),
    ],
)
def test_phrases(
    text: str, date: dt.date, time: dt.time | None, issues: tuple[AppointmentIssue, ...], order: str
) -> None:
    parsed = parse(text, order)
    assert (parsed.date, parsed.time, parsed.issues) == (date, time, issues)


def test_ordinal_day_moves_to_next_month_and_year() -> None:
    now = dt.datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo(NY))
    for order in ("MDY", "DMY"):
        assert parse("on the 5th", order, now).date == d(2027, 1, 5)
        parsed = parse("the 5th at 8am", order, now)
        assert (parsed.date, parsed.time, parsed.issues) == (d(2027, 1, 5), t(8), ())
        assert parse("the 31st", order, now).date == d(2026, 12, 31)


def test_ordinal_on_a_closed_day_is_flagged() -> None:
    parsed = parse("on the 5th")  # 5 Dec 2026 is a Saturday
    assert parsed.date == d(2026, 12, 5)
    assert parsed.issues == (CLOSED,)


def test_tomorrow_morning_names_the_part_of_day() -> None:
    parsed = parse("tomorrow morning")
    assert parsed.part_of_day == "morning"
    assert parsed.needs_confirmation


def test_day_month_order_follows_the_clinic() -> None:
    mdy, dmy = parse("3/12", "MDY"), parse("3/12", "DMY")
    assert (mdy.date, mdy.alternative, mdy.issues) == (d(2027, 3, 12), d(2026, 12, 3), (AMBIGUOUS,))
    assert (dmy.date, dmy.alternative, dmy.issues) == (d(2026, 12, 3), d(2027, 3, 12), (AMBIGUOUS,))


def test_numeric_date_with_year_keeps_the_year_in_both_readings() -> None:
    parsed = parse("4/1/2027", "DMY")
    assert (parsed.date, parsed.alternative) == (d(2027, 1, 4), d(2027, 4, 1))
    assert parsed.issues == (AMBIGUOUS,)


def test_same_day_and_month_is_not_ambiguous() -> None:
    assert parse("5/5").issues == ()


@pytest.mark.parametrize(
    ("text", "date", "issues"),
    [
        ("yesterday", d(2026, 11, 17), (PAST,)),
        ("today at 8am", d(2026, 11, 18), (PAST,)),
        ("March 3 2026", d(2026, 3, 3), (PAST,)),
        ("Nov 16", d(2026, 11, 16), (PAST,)),  # recently past: not silently next year
        ("Nov 1", d(2026, 11, 1), (PAST, CLOSED)),
    ],
)
def test_past_dates(text: str, date: dt.date, issues: tuple[AppointmentIssue, ...]) -> None:
    parsed = parse(text)
    assert (parsed.date, parsed.issues) == (date, issues)


def test_today_later_is_not_past() -> None:
    assert parse("today at 2pm").issues == ()


def test_month_day_long_past_means_next_year() -> None:
    assert parse("Jan 5").date == d(2027, 1, 5)


@pytest.mark.parametrize(
    ("text", "too_far"),
    [
        ("November 18 2027", False),  # exactly 12 months ahead
        ("November 19 2027", True),
        ("Dec 3 2027", True),
    ],
)
def test_more_than_twelve_months_ahead(text: str, too_far: bool) -> None:
    assert (TOO_FAR in parse(text).issues) is too_far


@pytest.mark.parametrize("text", ["Saturday", "sunday at 9am", "Nov 21"])
def test_closed_days(text: str) -> None:
    parsed = parse(text)
    assert parsed.issues == (CLOSED,)
    assert parsed.date is not None and parsed.date.weekday() in (5, 6)


@pytest.mark.parametrize(
    ("text", "date", "alternative"),
    [
        ("next Friday", d(2026, 11, 20), d(2026, 11, 27)),  # this week's or next week's?
        ("Tuesday, Dec 3", d(2026, 12, 3), None),  # 3 Dec 2026 is a Thursday
        ("Dec 3 at 5:30", d(2026, 12, 3), None),  # 5:30 am or pm?
        ("tomorrow, sorry I mean Friday", d(2026, 11, 19), d(2026, 11, 20)),
    ],
)
def test_ambiguous(text: str, date: dt.date, alternative: dt.date | None) -> None:
    parsed = parse(text)
    assert (parsed.date, parsed.alternative, parsed.issues) == (date, alternative, (AMBIGUOUS,))


def test_next_weekday_in_the_following_week_is_clear() -> None:
    assert parse("next Tuesday").issues == ()


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("hello", None),
        ("I take 5 mg twice a day", None),
        ("8am", t(8)),
        ("at 9", t(9)),
        ("next week", None),
        ("December", None),
    ],
)
def test_no_date(text: str, time: dt.time | None) -> None:
    parsed = parse(text)
    assert (parsed.date, parsed.time, parsed.issues) == (None, time, (NO_DATE,))


def test_bare_early_hour_is_also_ambiguous() -> None:
    assert parse("at 5").issues == (AMBIGUOUS, NO_DATE)


def test_start_is_aware_in_the_clinic_zone_across_dst() -> None:
    madrid = "Europe/Madrid"
    now = dt.datetime(2027, 3, 20, 12, 0, tzinfo=ZoneInfo(madrid))
    parsed = parse("29/3 at 8:00", "DMY", now, madrid)
    start = parsed.start(madrid)
    assert start is not None
    assert start.utcoffset() == dt.timedelta(hours=2)  # CEST after the 28 Mar change
    assert (start.date(), start.time()) == (d(2027, 3, 29), t(8))


def test_start_needs_date_and_time() -> None:
    assert parse("next Tuesday").start(NY) is None
    assert parse("8am").start(NY) is None


def test_now_in_another_zone_uses_the_clinic_today() -> None:
    # 03:00 UTC on the 19th is still the 18th in New York: "tomorrow" is the 19th.
    now = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.timezone.utc)
    assert parse("tomorrow", now=now).date == d(2026, 11, 19)


def test_year_end() -> None:
    now = dt.datetime(2026, 12, 30, 10, 0, tzinfo=ZoneInfo(NY))
    assert parse("Jan 4", now=now).date == d(2027, 1, 4)
    assert parse("in two weeks", now=now).date == d(2027, 1, 13)
    assert parse("the 2nd", now=now).date == d(2027, 1, 2)


def test_rejects_naive_now_and_unknown_order() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_appointment(
            "tomorrow",
            now=NOW.replace(tzinfo=None),
            time_zone=NY,
            date_order="MDY",
            opening_hours=HOURS,
        )
    with pytest.raises(ValueError, match="date_order"):
        parse("tomorrow", "YMD")
    with pytest.raises(ValueError, match="time zone"):
        parse("tomorrow", zone="Mars/Olympus")


@pytest.mark.parametrize("text", [
    "dad is having his back done on Dec 10 at 9am, what should he eat",
    "im getting it done Dec 10 at 9am",
])
def test_having_it_done_on_a_day_is_the_booking_not_a_past_event(text: str) -> None:
    """ "done" tells a past event ("had it done last May"); "having/getting it done" on a day
    is the booking."""
    parsed = parse(text)
    assert (parsed.date, parsed.time) == (d(2026, 12, 10), t(9)), parsed


def test_had_it_done_on_a_day_is_still_a_past_event() -> None:
    assert AppointmentIssue.NOT_APPOINTMENT in parse("had it done on Nov 2 at 9am").issues
