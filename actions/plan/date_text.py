"""Regular-expression helpers for the English date phrases dateparser gets wrong or leaves open.

Why: dateparser reads "the 5th" as May under month-first order, drops "at 9" after a weekday,
does not say whether "3/12" could be read the other way round, and happily reads "a day" or the
verb "may" as dates. These helpers fix or flag exactly those cases; everything else is
dateparser's job.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_WEEKDAY_RE = re.compile(rf"\b(?P<name>{_WEEKDAY})\b\.?", re.IGNORECASE)
_MONTH_RE = re.compile(rf"\b{_MONTH}\b\.?", re.IGNORECASE)
_NEXT_WEEKDAY_RE = re.compile(rf"\bnext\s+{_WEEKDAY}\b", re.IGNORECASE)
_MERIDIEM = r"(?:a\.?\s?m\b\.?|p\.?\s?m\b\.?)"
_MERIDIEM_RE = re.compile(rf"\d\s*{_MERIDIEM}|\b(?:noon|midday|midnight)\b", re.IGNORECASE)
_TIME_RE = re.compile(
    rf"""\b(?:at\s+)?(?:
        (?P<h1>\d{{1,2}})[:.](?P<m1>[0-5]\d)\s*(?P<ap1>{_MERIDIEM})
      | (?P<h2>\d{{1,2}}):(?P<m2>[0-5]\d)(?![\d:])
      | (?P<h3>\d{{1,2}})\s*(?P<ap3>{_MERIDIEM})
      | (?P<h4>\d{{1,2}})\s*o'?\s?clock\b
      | (?P<noon>noon|midday)\b
      | at\s+(?P<h5>\d{{1,2}})\b(?![:./\d]|\s*(?:st|nd|rd|th|mg|%|hours?|days?|weeks?)\b)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_NUMBER_WORDS = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|couple of)"
_RELATIVE_RE = re.compile(
    rf"\b(?:today|tonight|tomorrow|tmrw|yesterday|fortnight|from\s+now|ago"
    rf"|(?:in|within|after)\s+(?:{_NUMBER_WORDS}|\d+)\s+(?:days?|weeks?|months?))\b",
    re.IGNORECASE,
)
_VAGUE_PERIOD_RE = re.compile(r"\b(?:this|next|coming)\s+(?:week|month)\b", re.IGNORECASE)
_ORDINAL_RE = re.compile(
    r"(?P<lead>\b(?:on\s+)?the\s+|\bon\s+)?\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)\b"
    rf"(?!\s*(?:of\b|{_MONTH}\b))",
    re.IGNORECASE,
)
_BARE_HOUR_RE = re.compile(
    r"\b(?P<at>at\s+)(?P<h>\d{1,2})\b(?![:.]\d|\s*(?:a\.?\s?m\b|p\.?\s?m\b|o'?\s?clock\b"
    r"|st\b|nd\b|rd\b|th\b|mg\b|%|hours?\b|days?\b|weeks?\b|/))"
    r"|\b(?P<h2>\d{1,2})\s*o'?\s?clock\b",
    re.IGNORECASE,
)
_ENDS_WITH_MONTH_RE = re.compile(rf"\b{_MONTH}\.?,?\s*(?:the\s+)?$", re.IGNORECASE)
_ENDS_WITH_WEEKDAY_RE = re.compile(rf"\b{_WEEKDAY}\.?,?\s*$", re.IGNORECASE)
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\d/.:-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?:(?P=sep)(?P<year>\d{4}|\d{2}))?"
    r"(?![\d/:]|[.-]\d)"
)


@dataclass(frozen=True)
class ClockTime:
    """A time of day found in the text, and whether it said am/pm (or noon)."""

    value: dt.time
    has_meridiem: bool


@dataclass(frozen=True)
class NumericDate:
    """A numeric day/month pair such as "3/12", with the year if one was written."""

    first: int
    second: int
    year: int | None


def _hour_minute(hour: int, minute: int, meridiem: str | None) -> dt.time | None:
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        pm = meridiem.lower().startswith("p")
        hour = hour % 12 + (12 if pm else 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def find_time(text: str) -> ClockTime | None:
    """The first clock time in `text` ("8:30", "7:30am", "8 pm", "at 9", "noon"), if any."""
    for match in _TIME_RE.finditer(text):
        groups = match.groupdict()
        if groups["noon"]:
            return ClockTime(dt.time(12), has_meridiem=True)
        for index in "12345":
            hour = groups.get(f"h{index}")
            if hour is None:
                continue
            minute = int(groups.get(f"m{index}") or 0)
            meridiem = groups.get(f"ap{index}")
            value = _hour_minute(int(hour), minute, meridiem)
            if value is not None:
                return ClockTime(value, has_meridiem=meridiem is not None)
    return None


def has_meridiem(text: str) -> bool:
    """Whether the text says am/pm (or noon/midnight) next to a time."""
    return _MERIDIEM_RE.search(text) is not None


def without_times(text: str) -> str:
    """`text` with clock times removed, so what is left shows whether a date was written."""
    return _TIME_RE.sub(" ", text)


def has_date_anchor(text: str) -> bool:
    """Whether a dateparser hit names a day at all (not just a time, "a day" or "now")."""
    rest = without_times(text)
    return bool(
        re.search(r"\d", rest)
        or _MONTH_RE.search(rest)
        or _WEEKDAY_RE.search(rest)
        or _RELATIVE_RE.search(rest)
        or _VAGUE_PERIOD_RE.search(rest)
    )


def is_vague_period(text: str) -> bool:
    """Whether the text names a period ("next week"), not a day ("the 5th of next month")."""
    rest = without_times(text)
    return _VAGUE_PERIOD_RE.search(rest) is not None and not re.search(r"\d", rest)


def says_next_weekday(text: str) -> bool:
    """Whether it says "next Friday": some mean this coming Friday, others the one after."""
    return _NEXT_WEEKDAY_RE.search(text) is not None


def weekday_named(text: str) -> int | None:
    """Weekday index (Monday 0) of the first weekday name in `text`, if any."""
    match = _WEEKDAY_RE.search(without_times(text))
    if match is None:
        return None
    prefixes = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return prefixes.index(match.group("name")[:3].lower())


def names_calendar_date(text: str) -> bool:
    """Whether the text names a month or a day number (so a weekday in it can contradict it)."""
    rest = without_times(text)
    return bool(_MONTH_RE.search(rest) or re.search(r"\d", rest))


def next_day_of_month(day: int, today: dt.date) -> dt.date | None:
    """The first date on or after `today` whose day of the month is `day`."""
    year, month = today.year, today.month
    for _ in range(3):
        if 1 <= day <= calendar.monthrange(year, month)[1]:
            candidate = dt.date(year, month, day)
            if candidate >= today:
                return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def next_month_day(month: int, day: int, today: dt.date) -> dt.date | None:
    """The first date on or after `today` with this month and day (None if it never exists)."""
    for year in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def spell_out_hours(text: str) -> str:
    """Rewrite "at 9" and "9 o'clock" as "at 9:00" / "9:00".

    Why: after a weekday or a date, dateparser reads a bare "9" as the day of the month
    ("next Tuesday at 9" became the 9th); with minutes it is unmistakably a time.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("h2") is not None:
            return f"{match.group('h2')}:00"
        return f"{match.group('at')}{match.group('h')}:00"

    return _BARE_HOUR_RE.sub(replace, text)


def prepare(text: str, today: dt.date) -> str:
    """The text with lone ordinal days and bare hours spelled out for dateparser."""
    return expand_day_ordinals(spell_out_hours(text), today)


def expand_day_ordinals(text: str, today: dt.date) -> str:
    """Rewrite a lone "the 5th" as "December 5 2026" (the next 5th on or after today).

    Why: dateparser reads a lone number as the month under month-first order, and does not move
    a past day of this month to the next month. A month name is unambiguous in both orders.
    """

    def replace(match: re.Match[str]) -> str:
        before = text[: match.start()]
        lead = (match.group("lead") or "").lower()
        if _ENDS_WITH_MONTH_RE.search(before + lead):
            return match.group(0)
        standalone = not before.strip() or _ENDS_WITH_WEEKDAY_RE.search(before)
        if not lead and not standalone:
            return match.group(0)
        resolved = next_day_of_month(int(match.group("day")), today)
        if resolved is None:
            return match.group(0)
        prefix = "on " if lead.startswith("on") else ""
        return f"{prefix}{MONTH_NAMES[resolved.month - 1]} {resolved.day} {resolved.year}"

    return _ORDINAL_RE.sub(replace, text)


def numeric_date(text: str) -> NumericDate | None:
    """The first numeric day/month pair in `text` ("3/12", "03-12-2027"), if any."""
    match = _NUMERIC_DATE_RE.search(text)
    if match is None:
        return None
    year_text = match.group("year")
    year = None
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    return NumericDate(int(match.group("a")), int(match.group("b")), year)
