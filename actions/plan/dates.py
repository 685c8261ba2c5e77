"""Read the appointment date and time a patient types, and say what needs confirming.

Why not trust the first reading: a wrong procedure date silently shifts every fasting cut-off and
medication hold. So anything that could be misread (a past or far-away date, "3/12", a bare time,
"next Friday", a weekday that contradicts the date, a day the clinic is closed) is returned with
an issue the dialogue turns into a confirmation question, instead of being guessed quietly.

The time read is the procedure start (the time patients are given); arrival is computed from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from actions.plan.clock import add_months, clinic_zone, require_aware
from actions.plan.date_search import Hit, find_dates
from actions.plan.date_text import (
    ClockTime,
    find_time,
    has_date_anchor,
    has_meridiem,
    is_vague_period,
    names_calendar_date,
    next_month_day,
    numeric_date,
    prepare,
    says_next_weekday,
    weekday_named,
    without_times,
)

DATE_ORDERS = ("DMY", "MDY")
MAX_MONTHS_AHEAD = 12
RECENT_PAST_DAYS = 31  # a month-day this recently past is read as "already passed", not next year
# Times assumed for "tomorrow morning" etc.: the earliest plausible time, so cut-offs and holds
# computed from an unconfirmed time are never late.
DEFAULT_PART_OF_DAY_TIMES: Mapping[str, dt.time] = MappingProxyType(
    {
        "early_morning": dt.time(6),
        "morning": dt.time(8),
        "afternoon": dt.time(12),
        "evening": dt.time(17),
        "night": dt.time(20),
    }
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NO_DAY_PERIODS = frozenset({"month", "quarter", "year"})


class AppointmentIssue(str, Enum):
    """Why the reading must be confirmed with the patient before it is used."""

    PAST = "past"
    TOO_FAR = "too_far"  # more than MAX_MONTHS_AHEAD months ahead
    AMBIGUOUS = "ambiguous"  # another reading is plausible; see `alternative` when known
    CLINIC_CLOSED = "clinic_closed"
    NO_DATE = "no_date"  # no day found (nothing at all, a bare time, "next week", "December")
    APPROXIMATE_TIME = "approximate_time"  # "tomorrow morning": time assumed, not said


@dataclass(frozen=True)
class ParsedAppointment:
    """A reading of the patient's text: the date and time (each possibly unknown) and issues."""

    date: dt.date | None
    time: dt.time | None
    issues: tuple[AppointmentIssue, ...] = ()
    alternative: dt.date | None = None  # the other plausible date, for "did you mean ...?"
    part_of_day: str | None = None  # "morning" when the patient named a part of the day
    matched_text: str | None = None  # the phrase read (after "the 5th" was spelled out)

    @property
    def needs_confirmation(self) -> bool:
        """Whether the dialogue must ask before using this reading."""
        return bool(self.issues)

    def start(self, time_zone: str) -> dt.datetime | None:
        """The procedure start, aware in the clinic's zone, once both date and time are known."""
        if self.date is None or self.time is None:
            return None
        tz = clinic_zone(time_zone)
        # fold=0: a wall time repeated by DST is read as its first (earlier, safer) instant; the
        # round trip through UTC turns a wall time skipped by DST into a real one.
        naive = dt.datetime.combine(self.date, self.time)
        return naive.replace(tzinfo=tz).astimezone(dt.timezone.utc).astimezone(tz)


def parse_appointment(
    text: str,
    *,
    now: dt.datetime,
    time_zone: str,
    date_order: str,
    opening_hours: Mapping[str, str],
    languages: Sequence[str] = ("en",),
    part_of_day_times: Mapping[str, dt.time] = DEFAULT_PART_OF_DAY_TIMES,
) -> ParsedAppointment:
    """Read the appointment in `text` as the clinic's wall time; flag what needs confirming.

    `now` may be in any zone; "today" is the clinic's. The helpers around dateparser understand
    English phrasing only, whatever `languages` says.
    """
    require_aware(now, "now")
    if date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {DATE_ORDERS}, got {date_order!r}")
    local_now = now.astimezone(clinic_zone(time_zone))
    today = local_now.date()
    prepared = prepare(text, today)
    hits = find_dates(
        prepared,
        local_now=local_now,
        time_zone=time_zone,
        date_order=date_order,
        languages=languages,
        parts_of_day=part_of_day_times,
    )
    dated = [hit for hit in hits if has_date_anchor(hit.text) and _names_a_day(hit)]
    if not dated:
        return _without_date(prepared)

    chosen = next((hit for hit in dated if hit.moment.date() >= today), dated[0])
    issues: set[AppointmentIssue] = set()
    date, alternative = _read_date(chosen, prepared, date_order, today, issues)
    for other in dated:  # two future days named: "tomorrow, sorry I mean Friday"
        if other.moment.date() >= today and other.moment.date() not in (date, chosen.moment.date()):
            issues.add(AppointmentIssue.AMBIGUOUS)
            alternative = alternative or other.moment.date()

    rest = _blank_out(prepared, dated)
    time, part = _read_time(chosen, rest, part_of_day_times, issues)
    if date < today or (date == today and time is not None and time < local_now.time()):
        issues.add(AppointmentIssue.PAST)
    if date > add_months(today, MAX_MONTHS_AHEAD):
        issues.add(AppointmentIssue.TOO_FAR)
    if _is_closed(opening_hours, date):
        issues.add(AppointmentIssue.CLINIC_CLOSED)
    return ParsedAppointment(
        date=date,
        time=time,
        issues=_ordered(issues),
        alternative=alternative if alternative != date else None,
        part_of_day=part,
        matched_text=chosen.text,
    )


def _names_a_day(hit: Hit) -> bool:
    """Whether the hit names a day: "Dec 3", "in two weeks" do; "December", "next week" not."""
    return (
        "day" in hit.parts and hit.period not in _NO_DAY_PERIODS and not is_vague_period(hit.text)
    )


def _without_date(text: str) -> ParsedAppointment:
    clock = find_time(text)
    issues = {AppointmentIssue.NO_DATE}
    if clock is not None and _early_without_meridiem(clock):
        issues.add(AppointmentIssue.AMBIGUOUS)
    return ParsedAppointment(
        date=None, time=clock.value if clock else None, issues=_ordered(issues)
    )


def _read_date(
    hit: Hit, text: str, date_order: str, today: dt.date, issues: set[AppointmentIssue]
) -> tuple[dt.date, dt.date | None]:
    """The hit's date, corrected for a recent past date moved to next year, plus an alternative."""
    date = hit.moment.date()
    alternative: dt.date | None = None
    if "year" not in hit.parts and {"month", "day"} <= set(hit.parts):
        previous = _same_day_year_before(date)
        if previous is not None and today - dt.timedelta(days=RECENT_PAST_DAYS) <= previous < today:
            date = previous  # "Nov 1" said on Nov 18: the patient means the past one, or a typo
    swapped = _swapped_reading(hit.text, date_order, today)
    if swapped is not None:
        issues.add(AppointmentIssue.AMBIGUOUS)
        alternative = swapped
    window = text[max(0, hit.start - 6) : hit.end]
    if says_next_weekday(window) and date.isocalendar()[:2] == today.isocalendar()[:2]:
        issues.add(AppointmentIssue.AMBIGUOUS)  # "next Friday" said on Wednesday
        alternative = alternative or date + dt.timedelta(days=7)
    named = weekday_named(hit.text)
    if named is not None and names_calendar_date(hit.text) and named != date.weekday():
        issues.add(AppointmentIssue.AMBIGUOUS)  # "Tuesday, Dec 3" when Dec 3 is a Thursday
    return date, alternative


def _same_day_year_before(date: dt.date) -> dt.date | None:
    try:
        return date.replace(year=date.year - 1)
    except ValueError:  # 29 February
        return None


def _swapped_reading(text: str, date_order: str, today: dt.date) -> dt.date | None:
    """For "3/12" (both numbers can be a month), the date the other order would give."""
    found = numeric_date(without_times(text))
    if found is None or found.first == found.second:
        return None
    if not (1 <= found.first <= 12 and 1 <= found.second <= 12):
        return None
    # The clinic's order reads (first, second) as (month, day) for MDY; the swap is the other.
    month, day = (found.second, found.first) if date_order == "MDY" else (found.first, found.second)
    if found.year is not None:
        return dt.date(found.year, month, day)
    return next_month_day(month, day, today)


def _read_time(
    hit: Hit, rest: str, part_of_day_times: Mapping[str, dt.time], issues: set[AppointmentIssue]
) -> tuple[dt.time | None, str | None]:
    """The time said with the date, else any clock time elsewhere, else a part-of-day default."""
    clock: ClockTime | None
    if "time" in hit.parts and hit.period != "part_of_day":
        clock = ClockTime(
            hit.moment.time().replace(second=0, microsecond=0), has_meridiem(hit.text)
        )
    else:
        clock = find_time(hit.text) or find_time(rest)
    if clock is not None:
        value = _apply_part_of_day(clock, hit.part_of_day)
        if hit.part_of_day is None and _early_without_meridiem(clock):
            issues.add(AppointmentIssue.AMBIGUOUS)  # "at 5:30": am or pm?
        return value, hit.part_of_day
    if hit.part_of_day is not None and hit.part_of_day in part_of_day_times:
        issues.add(AppointmentIssue.APPROXIMATE_TIME)
        return part_of_day_times[hit.part_of_day], hit.part_of_day
    return None, hit.part_of_day


def _apply_part_of_day(clock: ClockTime, part: str | None) -> dt.time:
    """The part of the day supplies a missing am/pm: "tomorrow evening at 6" is 18:00."""
    value = clock.value
    if clock.has_meridiem or part is None or value.hour >= 12:
        return value
    if part in ("afternoon", "evening") or (part == "night" and 6 <= value.hour <= 11):
        return value.replace(hour=value.hour + 12)
    return value


def _early_without_meridiem(clock: ClockTime) -> bool:
    """1:00-6:59 without am/pm is almost certainly an afternoon time written on a 12-hour clock."""
    return not clock.has_meridiem and 1 <= clock.value.hour <= 6


def _blank_out(text: str, hits: Sequence[Hit]) -> str:
    for hit in hits:
        text = text[: hit.start] + " " * (hit.end - hit.start) + text[hit.end :]
    return text


def _is_closed(opening_hours: Mapping[str, str], date: dt.date) -> bool:
    hours = {day.lower(): value for day, value in opening_hours.items()}
    return hours.get(_WEEKDAYS[date.weekday()], "").strip().lower() == "closed"


def _ordered(issues: set[AppointmentIssue]) -> tuple[AppointmentIssue, ...]:
    return tuple(issue for issue in AppointmentIssue if issue in issues)
