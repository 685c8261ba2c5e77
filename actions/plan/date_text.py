"""Regular-expression helpers for the date phrases dateparser gets wrong or leaves open.

Why: dateparser reads "the 5th" as May under month-first order, does not say whether "3/12"
could be read the other way round, happily reads "a day" or the verb "may" as dates, and in
Spanish misses "pasado mañana", "el día 3", "dentro de dos semanas" and "el martes 15". These
helpers fix or flag exactly those cases, in every language of date_words.py; everything else is
dateparser's job. Clock times are read by time_text.py (re-exported here).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from actions.plan.clock import add_months
from actions.plan.date_words import ENGLISH, Lexicon, alternation, fold, lexicon, spaced
from actions.plan.time_text import (
    ClockTime,
    find_clock_times,
    find_time,
    has_meridiem,
    without_times,
)

__all__ = [
    "MONTH_NAMES",
    "ClockTime",
    "NumericDate",
    "expand_day_ordinals",
    "find_clock_times",
    "find_time",
    "has_date_anchor",
    "has_meridiem",
    "is_vague_period",
    "names_a_day_or_year",
    "names_calendar_date",
    "next_day_of_month",
    "next_month_day",
    "numeric_date",
    "prepare",
    "says_next_weekday",
    "spell_out_hours",
    "weekday_named",
    "without_times",
]

MONTH_NAMES = ENGLISH.month_names
_EN = ("en",)
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\d/.:-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?:(?P=sep)(?P<year>\d{4}|\d{2}))?"
    r"(?![\d/:]|[.-]\d)"
)
_BARE_HOUR_RE = re.compile(
    r"\b(?P<at>at\s+)(?P<h>\d{1,2})\b(?![:.]\d|\s*(?:a\.?\s?m\b|p\.?\s?m\b|o'?\s?clock\b"
    r"|st\b|nd\b|rd\b|th\b|mg\b|%|hours?\b|days?\b|weeks?\b|/))"
    r"|\b(?P<h2>\d{1,2})\s*o'?\s?clock\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NumericDate:
    """A numeric day/month pair such as "3/12", with the year if one was written."""

    first: int
    second: int
    year: int | None


@dataclass(frozen=True)
class _DatePatterns:
    """The date regexes of one set of languages, compiled once."""

    words: Lexicon
    weekday: re.Pattern[str]
    month: re.Pattern[str]
    next_weekday: re.Pattern[str]
    vague_period: re.Pattern[str]
    relative: re.Pattern[str]
    ordinal: re.Pattern[str]  # "the 5th", "on the 20th"
    lone_day: re.Pattern[str]  # "el 5", "el día 5"
    weekday_day: re.Pattern[str]  # "martes 15"
    ends_with_month: re.Pattern[str]
    ends_with_weekday: re.Pattern[str]
    rewrites: tuple[tuple[re.Pattern[str], str], ...]
    day_offsets: tuple[tuple[re.Pattern[str], int], ...]
    in_count: re.Pattern[str] | None
    ago_count: re.Pattern[str] | None
    next_week: re.Pattern[str] | None
    weeks_on_weekday: re.Pattern[str] | None
    weeks_from_today: re.Pattern[str] | None
    weekday_index: dict[str, int]
    duration: re.Pattern[str]  # "30 minutes": a number that is no day ("in 3 hours" is today)
    dotted: re.Pattern[str]  # "on 3.12", "14.03.1961"


@lru_cache(maxsize=16)
def _patterns(languages: tuple[str, ...]) -> _DatePatterns:
    words = lexicon(languages)
    flags = re.IGNORECASE
    weekday = alternation([name for day in words.weekdays for name in day])
    month = alternation([name for names in words.months for name in names])
    count = alternation(list(words.count_words))
    units = alternation([pattern for pattern, _ in words.unit_words])
    not_a_day = rf"(?!\s*(?:{alternation(words.units_after_number)})(?![\w]))"
    leads = alternation(words.ordinal_leads) if words.ordinal_leads else "(?!)"
    of_month = rf"(?:{alternation(words.of_words)}\s+)?{month}\b" if words.of_words else month
    next_forms = [rf"\b{alternation(words.next_before)}\s+{weekday}\b"] if words.next_before else []
    if words.next_after:
        next_forms.append(rf"\b{weekday}\s+{alternation(words.next_after)}\b")
    relative = [*words.relative_words]
    if words.in_words:
        relative.append(rf"{alternation(words.in_words)}\s+(?:{count}|\d+)\s+{units}")
    return _DatePatterns(
        words=words,
        weekday=re.compile(rf"\b(?P<name>{weekday})\b\.?", flags),
        month=re.compile(rf"\b{month}\b\.?", flags),
        next_weekday=re.compile("|".join(next_forms) or "(?!)", flags),
        vague_period=re.compile(rf"\b{alternation(words.vague_periods)}\b", flags),
        relative=re.compile(rf"\b{alternation(relative)}\b", flags),
        ordinal=re.compile(
            r"(?P<lead>\b(?:on\s+)?the\s+|\bon\s+)?\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)\b"
            rf"(?!\s*(?:of\b|{month}\b))",
            flags,
        ),
        lone_day=re.compile(
            rf"\b(?P<lead>{leads})\s+(?P<day>[0-3]?\d)(?:\.?º)?(?![\d/.:,\-]\d|\d){not_a_day}"
            rf"(?!\s*{of_month})(?!\s*(?:y|menos)\s)(?!\s*(?:de|of)\s+(?:cada|every|each)\b)",
            flags,
        ),
        weekday_day=re.compile(
            rf"\b(?P<weekday>{weekday})\s+(?:{leads}\s+)?(?P<day>[0-3]?\d)(?![\d/.:,\-]\d|\d)"
            rf"(?!\s*(?:st|nd|rd|th)\b){not_a_day}(?!\s*{of_month})",
            flags,
        )
        if words.ordinal_leads
        else re.compile("(?!)"),
        ends_with_month=re.compile(rf"\b{month}\.?,?\s*(?:the\s+)?$", flags),
        ends_with_weekday=re.compile(rf"\b{weekday}\.?,?\s*$", flags),
        rewrites=tuple(
            (re.compile(rf"\b{spaced(pattern)}", flags), replacement)
            for pattern, replacement in words.rewrites
        ),
        day_offsets=tuple(
            (re.compile(rf"\b{spaced(pattern)}\b", flags), days)
            for pattern, days in words.day_offsets
        ),
        in_count=re.compile(
            rf"\b{alternation(words.in_words)}\s+(?P<n>{count}|\d{{1,2}})\s+(?P<unit>{units})\b",
            flags,
        )
        if words.in_words
        else None,
        ago_count=re.compile(
            rf"\b{alternation(words.ago_words)}\s+(?P<n>{count}|\d{{1,2}})\s+(?P<unit>{units})\b",
            flags,
        )
        if words.ago_words
        else None,
        next_week=re.compile(
            alternation([p.replace("{weekday}", f"({weekday})") for p in words.next_week]),
            flags,
        )
        if words.next_week
        else None,
        weeks_on_weekday=re.compile(
            alternation([p.replace("{n}", rf"(?P<n>{count}|\d)").replace(
                "{weekday}", rf"(?P<wd>{weekday})") for p in words.weeks_on_weekday]),
            flags,
        )
        if words.weeks_on_weekday
        else None,
        weeks_from_today=re.compile(
            alternation([p.replace("{n}", rf"(?P<n>{count}|\d)")
                         for p in words.weeks_from_today]),
            flags,
        )
        if words.weeks_from_today
        else None,
        weekday_index={name: index for index, names in enumerate(words.weekdays) for name in names},
        duration=re.compile(
            rf"(?P<lead>\b{alternation(words.in_words)}\s+)?\b\d+\s*"
            rf"{alternation(words.duration_words)}(?![\w])"
            if words.duration_words
            else "(?!)",
            flags,
        ),
        dotted=re.compile(
            rf"(?P<cue>\b(?:{alternation([*words.dotted_date_cues, weekday])})\.?,?\s+)?"
            r"(?<![\d.:/])(?P<a>\d{1,2})\.(?P<b>\d{1,2})(?P<year>\.(?:\d{4}|\d{2}))?"
            r"(?![\d]|[.]\d)",
            flags,
        ),
    )


def has_date_anchor(text: str, languages: Sequence[str] = _EN) -> bool:
    """Whether a dateparser hit names a day at all (not just a time, "a day" or "now")."""
    found = _patterns(tuple(languages))
    rest = found.duration.sub(_unless_relative, fold(without_times(text, languages)))
    return bool(
        re.search(r"\d", rest)
        or found.month.search(rest)
        or found.weekday.search(rest)
        or found.relative.search(rest)
        or found.vague_period.search(rest)
    )


def names_a_day_or_year(text: str, languages: Sequence[str] = _EN) -> bool:
    """Like has_date_anchor, but a bare number ("£300", "pain was 8") does not count.

    Why: to say a date was left out (NOT_APPOINTMENT) there must have been a date.
    """
    found = _patterns(tuple(languages))
    rest = found.duration.sub(_unless_relative, fold(without_times(text, languages)))
    return bool(
        any(_plausible_numeric_date(match) for match in _NUMERIC_DATE_RE.finditer(rest))
        or re.search(r"\b(?:19|20)\d{2}\b|\d(?:st|nd|rd|th)\b|\d{4}-\d{1,2}-\d{1,2}", rest)
        or found.month.search(rest)
        or found.weekday.search(rest)
        or found.relative.search(rest)
    )


def _plausible_numeric_date(match: re.Match[str]) -> bool:
    """ "3/11", "14.03.1961" could be dates; "38.9" (a temperature) and "2.5" (a dose) not."""
    first, second = int(match.group("a")), int(match.group("b"))
    if match.group("sep") == "." and match.group("year") is None:
        return False
    return 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12


def is_vague_period(text: str, languages: Sequence[str] = _EN) -> bool:
    """Whether the text names a period ("next week"), not a day ("the 5th of next month")."""
    rest = fold(without_times(text, languages))
    vague = _patterns(tuple(languages)).vague_period
    return vague.search(rest) is not None and not re.search(r"\d", rest)


def says_next_weekday(text: str, languages: Sequence[str] = _EN) -> bool:
    """Whether it says "next Friday" / "el jueves que viene": this coming one, or the one after?"""
    return _patterns(tuple(languages)).next_weekday.search(fold(text)) is not None


def weekday_named(text: str, languages: Sequence[str] = _EN) -> int | None:
    """Weekday index (Monday 0) of the first weekday name in `text`, if any."""
    found = _patterns(tuple(languages))
    match = found.weekday.search(fold(without_times(text, languages)))
    if match is None:
        return None
    return _weekday_index(match.group("name"), found)


def names_calendar_date(text: str, languages: Sequence[str] = _EN) -> bool:
    """Whether the text names a month or a day number (so a weekday in it can contradict it)."""
    rest = fold(without_times(text, languages))
    return bool(_patterns(tuple(languages)).month.search(rest) or re.search(r"\d", rest))


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
    """Rewrite "at 9" and "9 o'clock" as "at 9:00" / "9:00" (English).

    Why: after a weekday or a date, dateparser reads a bare "9" as the day of the month
    ("next Tuesday at 9" became the 9th); with minutes it is unmistakably a time. `prepare` no
    longer calls it: parse_appointment now takes clock times out before dateparser runs.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("h2") is not None:
            return f"{match.group('h2')}:00"
        return f"{match.group('at')}{match.group('h')}:00"

    return _BARE_HOUR_RE.sub(replace, text)


def prepare(text: str, today: dt.date, languages: Sequence[str] = _EN) -> str:
    """The text with the day phrases dateparser misreads written out as plain dates.

    "this morning" becomes "today morning", "pasado mañana" and "dentro de dos semanas" the
    date they name, "Friday next week" that Friday, and a lone "the 5th" / "el 5" / "martes 15"
    the next such day of the month. Clock times are left in place (see time_text.py).
    """
    found = _patterns(tuple(languages))
    text = unicodedata.normalize("NFC", text)
    for pattern, replacement in found.rewrites:
        text = _substitute(text, pattern, _filled(replacement))
    text = _resolve_relative(text, today, found)
    text = _dotted_as_slashed(text, found, languages)
    return expand_day_ordinals(text, today, languages)


def expand_day_ordinals(text: str, today: dt.date, languages: Sequence[str] = _EN) -> str:
    """Rewrite a lone "the 5th" (or "el 5", "el día 5", "martes 15") as the next such date.

    Why: dateparser reads a lone number as the month under month-first order, and does not move
    a past day of this month to the next month. A month name is unambiguous in both orders.
    """
    found = _patterns(tuple(languages))

    def english(match: re.Match[str], original: str) -> str | None:
        before = original[: match.start()]
        lead = (match.group("lead") or "").lower()
        if found.ends_with_month.search(fold(before) + lead):
            return None
        standalone = not before.strip() or found.ends_with_weekday.search(fold(before))
        if not lead and not standalone:
            return None
        resolved = next_day_of_month(int(match.group("day")), today)
        if resolved is None:
            return None
        prefix = "on " if lead.startswith("on") else ""
        return f"{prefix}{_written(resolved, found.words)}"

    def lone(match: re.Match[str], original: str) -> str | None:
        resolved = next_day_of_month(int(match.group("day")), today)
        if resolved is None:
            return None
        article = "el " if match.group("lead").lower().startswith("el") else ""
        return f"{article}{_written(resolved, found.words)}"

    def after_weekday(match: re.Match[str], original: str) -> str | None:
        resolved = next_day_of_month(int(match.group("day")), today)
        if resolved is None:
            return None
        name = original[match.start("weekday") : match.end("weekday")]
        return f"{name} {_written(resolved, found.words)}"

    text = _substitute_context(text, found.ordinal, english)
    text = _substitute_context(text, found.weekday_day, after_weekday)
    return _substitute_context(text, found.lone_day, lone)


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


def _resolve_relative(text: str, today: dt.date, found: _DatePatterns) -> str:
    """ "pasado mañana", "dentro de dos semanas", "hace 3 días", "Friday next week" as dates."""
    words = found.words
    for pattern, days in found.day_offsets:
        text = _substitute(text, pattern, _constant(_written(today + dt.timedelta(days), words)))
    if found.in_count is not None:
        text = _substitute(
            text, found.in_count, lambda m: _written(_moved(today, m, found, +1), words)
        )
    if found.ago_count is not None:
        text = _substitute(
            text, found.ago_count, lambda m: _written(_moved(today, m, found, -1), words)
        )
    if found.next_week is not None:
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)

        def next_week_day(match: re.Match[str]) -> str:
            name = next(group for group in match.groups() if group)
            day = monday + dt.timedelta(days=_weekday_index(name, found))
            return f"{name} {_written(day, words)}"

        text = _substitute(text, found.next_week, next_week_day)
    if found.weeks_from_today is not None:
        text = _substitute(text, found.weeks_from_today, lambda m: _written(
            today + dt.timedelta(weeks=_count(m.group("n"), found)), words))
    if found.weeks_on_weekday is not None:

        def weeks_on(match: re.Match[str]) -> str:
            ahead = (_weekday_index(match.group("wd"), found) - today.weekday()) % 7 or 7
            day = today + dt.timedelta(days=ahead, weeks=_count(match.group("n"), found))
            return f"{match.group('wd')} {_written(day, words)}"

        text = _substitute(text, found.weeks_on_weekday, weeks_on)
    return text


def _count(spoken: str, found: _DatePatterns) -> int:
    """ "a", "two", "3" as a number."""
    spoken = re.sub(r"\s+", " ", spoken.lower())
    return int(spoken) if spoken.isdigit() else found.words.count_words[spoken]


def _dotted_as_slashed(text: str, found: _DatePatterns, languages: Sequence[str]) -> str:
    """ "on 3.12", "el 15.12" and "14.03.1961" with slashes: dateparser reads no dotted date.

    Only with a year or after a word that introduces a date: "apixaban 2.5" and "fever 38.9"
    are no dates. A dotted pair the clock grammar reads as a time ("at 9.30") is left alone.
    """
    times = [(clock.start, clock.end) for clock in find_clock_times(text, languages)]
    chars = list(text)
    for match in found.dotted.finditer(fold(text)):
        first, second = int(match.group("a")), int(match.group("b"))
        plausible = 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12
        start, end = match.start("a"), match.end()
        if not plausible or not (match.group("cue") or match.group("year")):
            continue
        if not any(a < end and start < b for a, b in times):
            chars[start:end] = text[start:end].replace(".", "/")
    return "".join(chars)


def _unless_relative(match: re.Match[str]) -> str:
    """ "30 minutes" names no day; "in 3 hours" is later today."""
    return match.group() if match.group("lead") else " "


def _filled(template: str) -> Callable[[re.Match[str]], str]:
    """A replacement that puts the match's groups into `template` ("today {0}")."""
    return lambda match: template.format(*match.groups())


def _constant(replacement: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: replacement


def _moved(today: dt.date, match: re.Match[str], found: _DatePatterns, sign: int) -> dt.date:
    count = _count(match.group("n"), found)
    unit = next(
        name
        for pattern, name in found.words.unit_words
        if re.fullmatch(pattern, match.group("unit"), re.IGNORECASE)
    )
    if unit == "month":
        return add_months(today, sign * count)
    days = count * (7 if unit == "week" else 1)
    return today + dt.timedelta(days=sign * days)


def _weekday_index(name: str, found: _DatePatterns) -> int:
    return found.weekday_index[fold(name).lower().rstrip(".")]


def _written(day: dt.date, words: Lexicon) -> str:
    """A date spelled out the way dateparser reads it in that language ("5 de mayo de 2027")."""
    month = words.month_names[day.month - 1]
    return words.date_format.format(month=month, day=day.day, year=day.year)


def _substitute(
    text: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]
) -> str:
    """`pattern.sub` matched on the accent-free text, replacing in the original."""
    return _substitute_context(text, pattern, lambda match, _original: replace(match))


def _substitute_context(
    text: str,
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str], str], str | None],
) -> str:
    """Like `_substitute`; `replace` also sees the original text and may return None to keep."""
    pieces: list[str] = []
    cursor = 0
    for match in pattern.finditer(fold(text)):
        replacement = replace(match, text)
        if replacement is None:
            continue
        pieces.extend((text[cursor : match.start()], replacement))
        cursor = match.end()
    pieces.append(text[cursor:])
    return "".join(pieces)
