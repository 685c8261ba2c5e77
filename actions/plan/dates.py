"""Read the appointment date and time a patient types, and say what needs confirming.

Why not trust the first reading: a wrong procedure date silently shifts every fasting cut-off and
medication hold. So anything that could be misread (a past or far-away date, "3/12", a bare time,
"next Friday", a weekday that contradicts the date, a day the clinic is closed) is returned with
an issue the dialogue turns into a confirmation question, instead of being guessed quietly.
Dates that are plainly not the appointment (a birth date, an age, something that already
happened) are left out, so "DOB 14/3/61" never becomes a procedure on 14 March.

The time read is the procedure start (the time patients are given); arrival is computed from it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from types import MappingProxyType

from actions.plan.clock import add_months, clinic_zone, opening_range, require_aware
from actions.plan.date_context import (
    MessageContext,
    Span,
    is_cut_off,
    is_rejected,
    overlaps,
    read_context,
)
from actions.plan.date_search import Hit, find_dates
from actions.plan.date_text import (
    has_date_anchor,
    is_vague_period,
    names_a_day_or_year,
    names_calendar_date,
    next_month_day,
    numeric_date,
    prepare,
    says_next_weekday,
    weekday_named,
)
from actions.plan.date_words import lexicon
from actions.plan.time_text import (
    ClockTime,
    DayPart,
    blank,
    find_clock_times,
    find_parts_of_day,
    has_meridiem,
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
PART_OF_DAY_REACH = 24  # characters between a day and a part of the day said with it


class AppointmentIssue(str, Enum):
    """Why the reading must be confirmed with the patient before it is used."""

    PAST = "past"
    TOO_FAR = "too_far"  # more than MAX_MONTHS_AHEAD months ahead
    AMBIGUOUS = "ambiguous"  # another reading is plausible; see `alternative` when known
    CLINIC_CLOSED = "clinic_closed"
    NO_DATE = "no_date"  # no day found (nothing at all, a bare time, "next week", "December")
    APPROXIMATE_TIME = "approximate_time"  # "tomorrow morning", "around 9": not an exact time
    # Only dates that are plainly not the appointment were found: a birth date ("DOB 14/3/61"),
    # an age ("tengo 64 años"), something that already happened ("I had an injection on 3/11").
    NOT_APPOINTMENT = "not_appointment"
    BIRTH_DATE = "birth_date"  # among them a birth date or an age: the patient is told why


@dataclass(frozen=True)
class _Message:
    """The prepared text, what it says about times, and what is not the appointment."""

    text: str  # after `prepare`
    searched: str  # the same with times and non-appointment dates blanked: what dateparser sees
    clocks: tuple[ClockTime, ...]  # clock times that may be the procedure's
    parts: tuple[DayPart, ...]  # parts of the day that may be the procedure's
    context: MessageContext


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

    `now` may be in any zone; "today" is the clinic's. `languages` ("en", "es") chooses the
    word tables every helper reads with, and is passed to dateparser. Birth dates, ages and
    dates of past events are left out; if only those were found the reading has no date and
    says NOT_APPOINTMENT.
    """
    require_aware(now, "now")
    if date_order not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {DATE_ORDERS}, got {date_order!r}")
    languages = tuple(languages)
    lexicon(languages)  # an unknown language fails here, not as a silent non-reading
    local_now = now.astimezone(clinic_zone(time_zone))
    today = local_now.date()
    message = _read_message(prepare(text, today, languages), languages)
    hits = find_dates(
        message.searched,
        local_now=local_now,
        time_zone=time_zone,
        date_order=date_order,
        languages=languages,
        parts_of_day=part_of_day_times,
    )
    dated = [
        hit for hit in hits if has_date_anchor(hit.text, languages) and _names_a_day(hit, languages)
    ]
    if not dated:
        return _without_date(message, languages)

    chosen = next((hit for hit in dated if hit.moment.date() >= today), dated[0])
    issues: set[AppointmentIssue] = set()
    date, alternative = _read_date(chosen, message.searched, date_order, today, issues, languages)
    for other in dated:  # two future days named: "tomorrow, sorry I mean Friday"
        if other.moment.date() >= today and other.moment.date() not in (date, chosen.moment.date()):
            issues.add(AppointmentIssue.AMBIGUOUS)
            alternative = alternative or other.moment.date()

    time, part = _read_time(chosen, message, part_of_day_times, issues, languages)
    if time is not None and part is None and not any(
            clock.has_meridiem and clock.value == time for clock in message.clocks):
        later = afternoon_if_only_then_open(time, opening_hours, date)
        if later != time:
            issues.discard(AppointmentIssue.AMBIGUOUS)  # no doubt left to ask about
            time = later
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
        matched_text=chosen.text.strip(),
    )


def _names_a_day(hit: Hit, languages: Sequence[str]) -> bool:
    """Whether the hit names a day: "Dec 3", "in two weeks" do; "December", "next week" not."""
    return (
        "day" in hit.parts
        and hit.period not in _NO_DAY_PERIODS
        and not is_vague_period(hit.text, languages)
    )


_BARE_BEFORE_REJECTED = re.compile(
    r"(?<=\s)(?=(?:[01]?\d|2[0-3])(?:[:.][0-5]\d)?\s*(?:am|pm)?,?\s+(?:not|instead of|rather "
    r"than|en vez de|en lugar de|y no|no a las?)\s+(?:at\s+|a las?\s+)?\d)", re.IGNORECASE)
_AT = "at "


def _clocks_with_rejections(text: str, languages: Sequence[str]) -> list[ClockTime]:
    """The clock times in `text`; a bare number right before a rejected time is read as a
    time too ("it's 10 not 9.30", "es a las 10 no a las 9"), with offsets in `text`."""
    inserted = [m.start() for m in _BARE_BEFORE_REJECTED.finditer(text)]
    if not inserted:
        return find_clock_times(text, languages)
    marked = "".join(_AT + text[a:b] if i else text[a:b] for i, (a, b) in enumerate(
        zip([0, *inserted], [*inserted, len(text)], strict=True)))

    def back(position: int) -> int:
        shift = 0
        for at in inserted:
            if position >= at + shift + len(_AT):
                shift += len(_AT)
        return max(0, position - shift)

    return [replace(c, start=back(c.start), end=back(c.end))
            for c in find_clock_times(marked, languages)]


def _read_message(prepared: str, languages: Sequence[str]) -> _Message:
    """Find the times first and blank them out, so dateparser only ever reads days.

    Why: dateparser turns "9.30" into 9 September, "0930" into the year 930 and the "mañana" of
    "a las 9 de la mañana" into tomorrow. Birth dates and past events are blanked out too.
    """
    context = read_context(prepared, languages)
    clocks = _clocks_with_rejections(prepared, languages)
    parts = find_parts_of_day(prepared, languages)
    spoken = [(clock.start, clock.end) for clock in clocks] + [(p.start, p.end) for p in parts]
    excluded = context.excluded()
    kept = [c for c in clocks if not overlaps((c.start, c.end), excluded)
            and not is_cut_off(prepared, c.start, languages)]
    said = [c for c in kept if not is_rejected(prepared, c.start, languages)]
    return _Message(
        text=prepared,
        searched=blank(prepared, [*spoken, *context.not_appointment]),
        clocks=tuple(said or kept),  # "it's 10 not 9.30": 10 (a lone "not 9.30" stays)
        parts=tuple(p for p in parts if not overlaps((p.start, p.end), excluded)),
        context=context,
    )


def _without_date(message: _Message, languages: Sequence[str]) -> ParsedAppointment:
    """No day: the time said about the procedure, if any; a part of the day is only named.

    Why no default time here: "good morning" or "coffee in the morning" is no appointment time.
    """
    issues = {AppointmentIssue.NO_DATE}
    context = message.context
    ignored = [message.text[start:end] for start, end in context.not_appointment]
    if context.ages or any(names_a_day_or_year(span, languages) for span in ignored):
        issues.add(AppointmentIssue.NOT_APPOINTMENT)  # only a birth date, an age, a past event
        if context.ages or context.births:
            issues.add(AppointmentIssue.BIRTH_DATE)
    about = [c for c in message.clocks if overlaps((c.start, c.end), context.about_appointment)]
    candidates = about or list(message.clocks)
    clock = candidates[0] if candidates else None
    part = message.parts[0].part if message.parts else None
    time: dt.time | None = None
    if clock is not None:
        time = _apply_part_of_day(clock, part)
        _flag_clock(clock, part, issues)
    return ParsedAppointment(date=None, time=time, issues=_ordered(issues), part_of_day=part)


def _read_date(
    hit: Hit,
    text: str,
    date_order: str,
    today: dt.date,
    issues: set[AppointmentIssue],
    languages: Sequence[str],
) -> tuple[dt.date, dt.date | None]:
    """The hit's date, corrected for a recent past date moved to next year, plus an alternative."""
    date = hit.moment.date()
    alternative: dt.date | None = None
    if "year" not in hit.parts and {"month", "day"} <= set(hit.parts):
        previous = _same_day_year_before(date)
        if previous is not None and today - dt.timedelta(days=RECENT_PAST_DAYS) <= previous < today:
            date = previous  # "Nov 1" said on Nov 18: the patient means the past one, or a typo
    swapped = _swapped_reading(hit.text, date_order, today, languages)
    if swapped is not None:
        issues.add(AppointmentIssue.AMBIGUOUS)
        alternative = swapped
    # "next Friday" before the weekday; "el jueves que viene" after it.
    window = text[max(0, hit.start - 12) : hit.end + 16]
    if says_next_weekday(window, languages) and date.isocalendar()[:2] == today.isocalendar()[:2]:
        issues.add(AppointmentIssue.AMBIGUOUS)  # "next Friday" said on Wednesday
        alternative = alternative or date + dt.timedelta(days=7)
    named = weekday_named(hit.text, languages)
    if named is not None and names_calendar_date(hit.text, languages) and named != date.weekday():
        issues.add(AppointmentIssue.AMBIGUOUS)  # "Tuesday, Dec 3" when Dec 3 is a Thursday
    return date, alternative


def _same_day_year_before(date: dt.date) -> dt.date | None:
    try:
        return date.replace(year=date.year - 1)
    except ValueError:  # 29 February
        return None


def _swapped_reading(
    text: str, date_order: str, today: dt.date, languages: Sequence[str]
) -> dt.date | None:
    """For "3/12" (both numbers can be a month), the date the other order would give."""
    found = numeric_date(without_times(text, languages))
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
    hit: Hit,
    message: _Message,
    part_of_day_times: Mapping[str, dt.time],
    issues: set[AppointmentIssue],
    languages: Sequence[str],
) -> tuple[dt.time | None, str | None]:
    """The clock time nearest the day, else dateparser's, else a part-of-day default."""
    part = _part_said_with(hit, message.searched, message.parts) or hit.part_of_day
    clock = min(
        message.clocks, key=lambda found: _distance(hit, (found.start, found.end)), default=None
    )
    if clock is None and "time" in hit.parts and hit.period != "part_of_day":
        clock = ClockTime(
            hit.moment.time().replace(second=0, microsecond=0), has_meridiem(hit.text, languages)
        )
    if clock is not None:
        _flag_clock(clock, part, issues)
        return _apply_part_of_day(clock, part), part
    if part is not None and part in part_of_day_times:
        issues.add(AppointmentIssue.APPROXIMATE_TIME)
        return part_of_day_times[part], part
    return None, part


def _part_said_with(hit: Hit, text: str, parts: Sequence[DayPart]) -> str | None:
    """A part of the day said next to the day ("tomorrow morning", "el viernes por la tarde").

    Why only next to it: "nothing from the night before" elsewhere in the message is no time.
    """
    near = [
        part
        for part in parts
        if _distance(hit, (part.start, part.end)) <= PART_OF_DAY_REACH
        and not re.search(r"[.;!?\n]", _between(text, hit, (part.start, part.end)))
    ]
    if not near:
        return None
    return min(near, key=lambda part: _distance(hit, (part.start, part.end))).part


def _distance(hit: Hit, span: Span) -> int:
    """Characters between the hit and the span; a time after the day wins a tie."""
    if span[0] >= hit.end:
        return 2 * (span[0] - hit.end)
    if span[1] <= hit.start:
        return 2 * (hit.start - span[1]) + 1
    return 0


def _between(text: str, hit: Hit, span: Span) -> str:
    return text[hit.end : span[0]] if span[0] >= hit.end else text[span[1] : hit.start]


def _flag_clock(clock: ClockTime, part: str | None, issues: set[AppointmentIssue]) -> None:
    if part is None and _early_without_meridiem(clock):
        issues.add(AppointmentIssue.AMBIGUOUS)  # "at 5:30": am or pm?
    if clock.approximate:
        issues.add(AppointmentIssue.APPROXIMATE_TIME)  # "around 9", "sobre las 9"


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


def afternoon_if_only_then_open(
    time: dt.time, opening_hours: Mapping[str, str], date: dt.date
) -> dt.time:
    """"a la una", "at 2:30" (no am/pm): an early hour is the afternoon when the clinic is
    closed at that hour and open twelve hours later on that day."""
    if not 1 <= time.hour <= 6:
        return time
    later = time.replace(hour=time.hour + 12)
    if _open_at(opening_hours, date, time) or not _open_at(opening_hours, date, later):
        return time
    return later


def _open_at(opening_hours: Mapping[str, str], date: dt.date, time: dt.time) -> bool:
    """Whether the clinic's hours for that weekday ("08:00-17:00") include the time."""
    hours = {day.lower(): value for day, value in opening_hours.items()}
    span = opening_range(hours.get(_WEEKDAYS[date.weekday()]))
    return span is not None and span[0] <= time < span[1]


def _is_closed(opening_hours: Mapping[str, str], date: dt.date) -> bool:
    hours = {day.lower(): value for day, value in opening_hours.items()}
    return hours.get(_WEEKDAYS[date.weekday()], "").strip().lower() == "closed"


def _ordered(issues: set[AppointmentIssue]) -> tuple[AppointmentIssue, ...]:
    return tuple(issue for issue in AppointmentIssue if issue in issues)
