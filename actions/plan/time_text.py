"""Find clock times, parts of the day and dose-time words in a patient's message.

Why our own grammar instead of dateparser's: dateparser reads "9.30" as a date, "0930" as the
year 930, "half nine" not at all, and in Spanish turns the "mañana" of "a las 9 de la mañana"
into tomorrow. Times are therefore read here, from the word tables in date_words.py, and taken
out of the text before dateparser looks for the day.

Every reading is structured (ClockTime, DayPart, PartOfDay); nothing here is patient-facing text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TypeVar

from actions.plan.clock import PartOfDay
from actions.plan.date_words import Lexicon, alternation, fold, lexicon, spaced

MERIDIEM = r"(?:a\.?\s?m\b\.?|p\.?\s?m\b\.?)"
_BEFORE_DIGITS = r"(?<![\w:/.\-])"  # not glued to a date, a decimal or another number
_T = TypeVar("_T")
_HALF_OF_DAY_PARTS = {
    "morning": "am",
    "early_morning": "am",
    "afternoon": "pm",
    "evening": "pm",
    "night": "night",
    "midday": "midday",
}


@dataclass(frozen=True)
class ClockTime:
    """A time of day found in the text.

    `has_meridiem`: the text itself fixes the half of the day (am/pm, noon, "in the morning",
    "de la tarde", or a 24-hour form such as "17:00", "09:30", "0930", "21h"); a bare "at 5"
    does not. `approximate`: the patient hedged ("around 9", "9ish", "sobre las 9").
    """

    value: dt.time
    has_meridiem: bool
    approximate: bool = False
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)


@dataclass(frozen=True)
class DayPart:
    """A part of the day named without a clock time ("first thing", "por la tarde")."""

    part: str  # a key of dates.DEFAULT_PART_OF_DAY_TIMES: "early_morning", "morning", ...
    start: int
    end: int


@dataclass(frozen=True)
class _Said:
    """What one match of a clock form said, before it is turned into a time."""

    hour: int
    minute: int
    minutes_before: bool  # "twenty to eight", "diez menos cuarto"
    meridiem: str | None  # "am" / "pm" as written
    part: str | None  # from "in the morning", "de la tarde"
    twenty_four: bool  # "09:30", "0930", "21h": a 24-hour form
    approximate: bool


@dataclass(frozen=True)
class _Context:
    """What every clock form shares: the introducer, am/pm and the words after the time."""

    meridiem: str | None
    part: str | None
    approximate: bool
    qualified: bool  # introduced by "at"/"a las" or followed by am/pm, "sharp", "ish", a part
    hour_mark: bool  # "21h", "9 horas": the 24-hour clock


@dataclass(frozen=True)
class _Form:
    pattern: re.Pattern[str]
    read: Callable[[re.Match[str], str], _Said | None]


@dataclass(frozen=True)
class _Grammar:
    forms: tuple[_Form, ...]
    parts: tuple[tuple[re.Pattern[str], str], ...]
    greetings: re.Pattern[str]
    dose_parts: tuple[tuple[re.Pattern[str], PartOfDay], ...]
    units_after: re.Pattern[str]
    date_before: re.Pattern[str]  # a number after these belongs to a date: "Dec 9 30"
    day_before: re.Pattern[str]  # the number is the day itself: "Dec 3 in the morning"
    about_after: re.Pattern[str]
    exact_after: re.Pattern[str]
    clock_parts: tuple[tuple[re.Pattern[str], str], ...]
    packed_lead: re.Pattern[str]  # "appt 1115": a four-digit number read as a time
    words: Lexicon


def find_clock_times(text: str, languages: Sequence[str] = ("en",)) -> list[ClockTime]:
    """Every clock time in `text`, in order ("I take it at 9am and 9pm" gives 09:00, 21:00)."""
    grammar = _grammar(tuple(languages))
    folded = fold(text)
    found: list[tuple[int, int, ClockTime]] = []
    for form in grammar.forms:
        for match in form.pattern.finditer(folded):
            said = form.read(match, folded)
            clock = _to_clock(said, match) if said is not None else None
            if clock is not None:
                found.append((match.start(), match.end(), clock))
    return _leftmost_longest(found)


def find_time(text: str, languages: Sequence[str] = ("en",)) -> ClockTime | None:
    """The first clock time in `text` ("8:30", "7:30am", "half nine", "a las 9"), if any."""
    times = find_clock_times(text, languages)
    return times[0] if times else None


def has_meridiem(text: str, languages: Sequence[str] = ("en",)) -> bool:
    """Whether a time in the text fixes its half of the day (am/pm, noon, "de la tarde")."""
    return any(clock.has_meridiem for clock in find_clock_times(text, languages))


def without_times(text: str, languages: Sequence[str] = ("en",)) -> str:
    """`text` with its clock times blanked out (same length), so what is left is the date."""
    return blank(text, ((clock.start, clock.end) for clock in find_clock_times(text, languages)))


def find_parts_of_day(text: str, languages: Sequence[str] = ("en",)) -> list[DayPart]:
    """Parts of the day named without a clock time, in order ("tomorrow morning", "a primera
    hora"). Clock times are skipped first, so "9 in the morning" is a time, not a part."""
    grammar = _grammar(tuple(languages))
    folded = grammar.greetings.sub(_spaces, fold(without_times(text, languages)))
    found = [
        (match.start(), match.end(), DayPart(part, match.start(), match.end()))
        for pattern, part in grammar.parts
        for match in pattern.finditer(folded)
    ]
    return _leftmost_longest(found)


def dose_time_words(text: str, languages: Sequence[str] = ("en",)) -> list[PartOfDay]:
    """The parts of the day a dose is tied to, in order and once each.

    "with breakfast" is the morning, "with dinner" the evening, "before bed" the night;
    "con el desayuno", "con la cena", "por la noche", "antes de dormir" likewise.
    """
    grammar = _grammar(tuple(languages))
    folded = fold(text)
    found = [
        (match.start(), match.end(), part)
        for pattern, part in grammar.dose_parts
        for match in pattern.finditer(folded)
    ]
    return list(dict.fromkeys(_leftmost_longest(found)))


def _spaces(match: re.Match[str]) -> str:
    return " " * len(match.group())


def blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with each span replaced by as many spaces (positions stay valid)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _leftmost_longest(found: list[tuple[int, int, _T]]) -> list[_T]:
    """Non-overlapping matches, preferring the earliest and then the longest."""
    chosen: list[_T] = []
    reached = -1
    for start, end, item in sorted(found, key=lambda hit: (hit[0], -(hit[1] - hit[0]))):
        if start >= reached:
            chosen.append(item)
            reached = end
    return chosen


def _to_clock(said: _Said, match: re.Match[str]) -> ClockTime | None:
    value = _wall_time(said)
    if value is None:
        return None
    fixed = said.meridiem is not None or said.part is not None or said.twenty_four
    if said.minutes_before:
        moment = dt.datetime.combine(dt.date(2000, 1, 2), value) - dt.timedelta(minutes=said.minute)
        value = moment.time()
        if value.hour == 0 and not fixed:
            value = value.replace(hour=12)  # "a la una menos cuarto": 12:45 on a 12-hour clock
    return ClockTime(value, fixed, said.approximate, match.start(), match.end())


def _wall_time(said: _Said) -> dt.time | None:
    """The hour said, turned into a 24-hour time (minutes added unless said before the hour)."""
    hour, minute = said.hour, 0 if said.minutes_before else said.minute
    if said.meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if said.meridiem == "pm" else 0)
    elif said.part is not None:
        in_part = _hour_in_part(hour, _HALF_OF_DAY_PARTS[said.part])
        if in_part is None:
            return None
        hour = in_part
    if not 0 <= hour <= 23 or not 0 <= minute <= 59:
        return None
    return dt.time(hour, minute)


def _hour_in_part(hour: int, half: str) -> int | None:
    """ "5 de la tarde" is 17:00, "10 at night" 22:00, "12 de la noche" midnight."""
    if hour > 12:
        return hour if half in ("pm", "night", "midday") and hour <= 23 else None
    if half == "am":
        return hour
    if half == "pm":
        return hour if hour == 12 else hour + 12
    if half == "midday":
        return hour + 12 if 1 <= hour <= 4 else hour
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


@lru_cache(maxsize=16)
def _grammar(languages: tuple[str, ...]) -> _Grammar:
    words = lexicon(languages)
    flags = re.IGNORECASE
    hour_word = alternation(list(words.hour_words))
    hour = rf"(?P<h>\d{{1,2}}|\b{hour_word}\b)"
    introducers = [rf"(?P<about>{alternation(words.about_words)})"] if words.about_words else []
    if words.at_words:
        introducers.append(alternation(words.at_words))
    prefix = rf"(?:(?<![\w~@])(?P<pre>{'|'.join(introducers)})\s*)?" if introducers else ""
    tail_words = [*words.about_after, *words.exact_after, *(p for p, _ in words.clock_parts)]
    tail = rf"(?P<tail>(?:\s*(?:{alternation(tail_words)})(?![\w]))*)" if tail_words else ""
    ending = rf"(?P<ap>\s*{MERIDIEM})?{tail}"
    grammar = _Grammar(
        forms=(),
        parts=tuple(
            (re.compile(rf"(?<![\w]){spaced(pattern)}(?![\w])", flags), part)
            for pattern, part in words.day_parts
        ),
        greetings=re.compile(
            rf"(?<![\w]){alternation(words.greetings)}(?![\w])" if words.greetings else "(?!)",
            flags,
        ),
        dose_parts=tuple(
            (re.compile(rf"(?<![\w])(?:{spaced(pattern)})(?![\w])", flags), part)
            for pattern, part in words.dose_parts
        ),
        units_after=re.compile(rf"\s*(?:{alternation(words.units_after_number)})(?![\w])", flags),
        date_before=re.compile(
            rf"(?:{_month_words(words)}|\d|/|\bthe|\bof|\bde|\bel|\bin|\bsince|\bdesde)\s*$",
            flags,
        ),
        day_before=re.compile(rf"(?:{_month_words(words)}|\bthe|\bof|\bel|\bdia)\.?\s*$", flags),
        about_after=re.compile(alternation(words.about_after) if words.about_after else "(?!)"),
        exact_after=re.compile(
            rf"(?<![\w]){alternation(words.exact_after)}(?![\w])" if words.exact_after else "(?!)"
        ),
        clock_parts=tuple(
            (re.compile(spaced(pattern), flags), part) for pattern, part in words.clock_parts
        ),
        packed_lead=re.compile(
            rf"(?<![\w]){alternation(words.packed_time_leads)}\s+$" if words.packed_time_leads
            else "(?!)", flags),
        words=words,
    )
    return replace(grammar, forms=_forms(grammar, prefix, hour, ending, flags))


def _forms(
    grammar: _Grammar, prefix: str, hour: str, ending: str, flags: re.RegexFlag
) -> tuple[_Form, ...]:
    words = grammar.words
    minute_word = alternation(list(words.minute_words))
    hour_word = alternation(list(words.hour_words))
    oclock = alternation(words.hour_after) if words.hour_after else "(?!)"
    forms = [
        # 9:30, 9h30, 09:30h, 9:30am
        (
            rf"{prefix}{_BEFORE_DIGITS}(?P<h>\d{{1,2}})(?::|h|\s:\s?)(?P<m>[0-5]\d)(?![\d:]){ending}",
            _digits_read(grammar),
        ),
        # 9.30, 9.30am (a dotted pair that could be a date needs a qualifier)
        (
            rf"{prefix}{_BEFORE_DIGITS}(?P<h>\d{{1,2}})\.(?P<m>[0-5]\d)(?!\d|[./\-]\d){ending}",
            _digits_read(grammar, dotted=True),
        ),
        # 9 30
        (
            rf"{prefix}{_BEFORE_DIGITS}(?P<h>\d{{1,2}})\s(?P<m>[0-5]\d)(?![\d:/.\-]){ending}",
            _digits_read(grammar, spaced=True),
        ),
        # 0930, 1730h
        (
            rf"{prefix}{_BEFORE_DIGITS}(?P<h>[01]\d|2[0-3])(?P<m>[0-5]\d)(?!\d|[/.\-]\d){ending}",
            _digits_read(grammar, packed=True),  # "is 0930." ends a sentence
        ),
        # at 9, 9am, nine o'clock, 9ish, 8 sharp, 9 in the morning, a las nueve
        (
            rf"{prefix}{_BEFORE_DIGITS}{hour}(?![\d:.,/]\d|\d|\s*(?:st|nd|rd|th)\b)"
            rf"(?P<oclock>\s*{oclock})?{ending}",
            _bare_hour_read(grammar),
        ),
        # noon, midday, midnight, a mediodía
        (
            rf"{prefix}(?<![\w])(?:(?P<noon>{alternation(words.noon_words)})"
            rf"|(?P<midnight>{alternation(words.midnight_words)}))(?![\w]){ending}",
            _noon_read(grammar),
        ),
    ]
    for start_word, end_word in words.range_words:
        forms.append(
            # between 9 and 10, entre las 9 y las 10: the start of the window, approximately
            (
                rf"(?<![\w])(?P<range>{spaced(start_word)})\s+{hour}(?:[:.h](?P<m>[0-5]\d))?"
                rf"\s+{spaced(end_word)}\s+(?:\d{{1,2}}(?:[:.h][0-5]\d)?|\b{hour_word}\b)"
                rf"(?![\d:.]){ending}",
                _range_read(grammar),
            ),
        )
    if words.past_words or words.to_words:
        forms.append(
            # quarter past 10, ten past eight, twenty to eight, 25 minutes to 9
            (
                rf"{prefix}(?<![\w])(?:(?P<mw>{minute_word})|(?P<md>\d{{1,2}})\s+minutes?)"
                rf"(?:\s+minutes?)?\s+(?P<dir>{alternation([*words.past_words, *words.to_words])})"
                rf"\s+{hour}(?![\d:]|\.\d){ending}",
                _minutes_first_read(grammar),
            ),
        )
    if words.half_before_hour:
        forms.append(
            # half nine (UK): 9:30
            (
                rf"{prefix}(?<![\w]){alternation(words.half_before_hour)}\s+{hour}(?![\d:]|\.\d)"
                rf"{ending}",
                _half_read(grammar),
            ),
        )
    if words.plus_words or words.minus_words:
        forms.append(
            # nueve y media, diez menos cuarto, 9 y 10
            (
                rf"{prefix}{_BEFORE_DIGITS}{hour}\s+"
                rf"(?P<dir>{alternation([*words.plus_words, *words.minus_words])})\s+"
                rf"(?:(?P<mw>\b{minute_word}\b)|(?P<md>\d{{1,2}})(?:\s+minutos?)?)(?![\w:]|\.\d)"
                rf"{ending}",
                _hour_first_read(grammar),
            ),
        )
    if words.after_hour_minutes:
        forms.append(
            # nine thirty, 9 forty-five
            (
                rf"{prefix}{_BEFORE_DIGITS}{hour}\s+"
                rf"(?P<aw>\b{alternation(list(words.after_hour_minutes))})(?![\w]){ending}",
                _after_hour_read(grammar),
            ),
        )
    return tuple(_Form(re.compile(spaced(source), flags), read) for source, read in forms)


def _month_words(words: Lexicon) -> str:
    return alternation([spelling for month in words.months for spelling in month])


def _number(text: str, words: Lexicon) -> int:
    if text.isdigit():
        return int(text)
    return words.hour_words[re.sub(r"\s+", " ", text.lower())]


def _context(match: re.Match[str], grammar: _Grammar) -> _Context:
    tail = match.groupdict().get("tail") or ""
    part = next((p for pattern, p in grammar.clock_parts if pattern.search(tail)), None)
    about = bool(match.groupdict().get("about")) or bool(tail and grammar.about_after.search(tail))
    exact = bool(tail and grammar.exact_after.search(tail))
    hour_mark = bool(re.search(r"(?<![\w])(?:h|hrs?|hours?|horas?)(?![\w])", tail, re.IGNORECASE))
    ap = match.groupdict().get("ap")
    meridiem = None if ap is None else ("pm" if ap.strip().lower().startswith("p") else "am")
    qualified = bool(
        match.groupdict().get("pre")
        or ap
        or part
        or about
        or (exact and not hour_mark)
        or match.groupdict().get("oclock")
    )
    return _Context(meridiem, part, about, qualified, hour_mark)


def _followed_by_unit(match: re.Match[str], text: str, grammar: _Grammar) -> bool:
    if match.groupdict().get("tail") or match.groupdict().get("ap"):
        return False
    return grammar.units_after.match(text, match.end()) is not None


def _after_date_words(match: re.Match[str], text: str, grammar: _Grammar) -> bool:
    """ "Dec 9 30", "in 2027", "de 1961": the number belongs to a date."""
    start = match.start("h")
    return grammar.date_before.search(text[max(0, start - 14) : start]) is not None


def _said(
    heard: _Context, hour: int, minute: int, *, before: bool = False, twenty_four: bool = False
) -> _Said:
    return _Said(hour, minute, before, heard.meridiem, heard.part, twenty_four, heard.approximate)


def _digits_read(
    grammar: _Grammar,
    *,
    dotted: bool = False,
    spaced: bool = False,
    packed: bool = False,
) -> Callable[[re.Match[str], str], _Said | None]:
    def read(match: re.Match[str], text: str) -> _Said | None:
        heard = _context(match, grammar)
        hour_text, minute = match.group("h"), int(match.group("m"))
        hour = int(hour_text)
        if _followed_by_unit(match, text, grammar):
            return None
        if dotted and not (heard.qualified or heard.hour_mark or minute > 12):
            return None  # "3.12" is a date; "9.30" and "at 3.12" are times
        unsure = spaced and not heard.qualified
        if unsure and (minute % 5 or _after_date_words(match, text, grammar)):
            return None  # "9 30" is a time; "Dec 9 30" a date, "2 37" two numbers
        if packed and not (heard.qualified or heard.hour_mark or hour_text.startswith("0")
                           or grammar.packed_lead.search(text, 0, match.start("h"))):
            return None  # "2026" is a year; "0930", "at 1730", "1730h", "appt 1115" are times
        twenty_four = packed or hour_text.startswith("0") or hour >= 13 or heard.hour_mark
        return _said(heard, hour, minute, twenty_four=twenty_four)

    return read


def _bare_hour_read(grammar: _Grammar) -> Callable[[re.Match[str], str], _Said | None]:
    def read(match: re.Match[str], text: str) -> _Said | None:
        heard = _context(match, grammar)
        if not heard.qualified or _followed_by_unit(match, text, grammar):
            return None  # "9" alone is a number; "at 9", "9am", "9ish", "a las 9" are times
        if match.group("h").isdigit() and _glued_to_date(match, text):
            return None
        if _only_words_after(match) and _is_day_number(match, text, grammar):
            return None  # "Dec 3 in the morning" is the 3rd, not 3 am
        hour = _number(match.group("h"), grammar.words)
        return _said(heard, hour, 0, twenty_four=hour >= 13 or hour == 0 or heard.hour_mark)

    return read


def _only_words_after(match: re.Match[str]) -> bool:
    """Qualified only by words after the number ("in the morning", "ish"), not "at" or "am"."""
    groups = match.groupdict()
    return not (groups.get("pre") or groups.get("ap") or groups.get("oclock"))


def _is_day_number(match: re.Match[str], text: str, grammar: _Grammar) -> bool:
    start = match.start("h")
    return grammar.day_before.search(text[max(0, start - 14) : start]) is not None


def _glued_to_date(match: re.Match[str], text: str) -> bool:
    """ "15/12 a las 9" is fine; the "12" of "15/12 am" is not an hour."""
    start = match.start("h")
    return start > 0 and text[start - 1] in "/-."


def _noon_read(grammar: _Grammar) -> Callable[[re.Match[str], str], _Said | None]:
    def read(match: re.Match[str], text: str) -> _Said | None:
        heard = _context(match, grammar)
        hour = 12 if match.group("noon") else 0
        return _Said(hour, 0, False, None, None, True, heard.approximate)

    return read


def _range_read(grammar: _Grammar) -> Callable[[re.Match[str], str], _Said | None]:
    def read(match: re.Match[str], text: str) -> _Said | None:
        if _followed_by_unit(match, text, grammar):
            return None  # "between 2 and 3 days"
        heard = replace(_context(match, grammar), approximate=True)
        hour = _number(match.group("h"), grammar.words)
        return _said(heard, hour, int(match.group("m") or 0), twenty_four=hour >= 13)

    return read


def _minutes_first_read(grammar: _Grammar) -> Callable[[re.Match[str], str], _Said | None]:
    words = grammar.words
    before = {word.lower() for word in words.to_words}

    def read(match: re.Match[str], text: str) -> _Said | None:
        heard = _context(match, grammar)
        minute = _minutes(match, words)
        if minute is None or not 0 < minute < 60 or _followed_by_unit(match, text, grammar):
            return None
        hour = _number(match.group("h"), words)
        return _said(heard, hour, minute, before=match.group("dir").lower() in before)

    return read


def _half_read(grammar: _Grammar) -> Callable[[re.Match[str], str], _Said | None]:
    def read(match: re.Match[str], text: str) -> _Said | None:
        if _followed_by_unit(match, text, grammar):
            return None  # "half 10mg"
        return _said(_context(match, grammar), _number(match.group("h"), grammar.words), 30)

    return read


def _hour_first_read(grammar: _Grammar) -> Callable[[re.Match[str], str], _Said | None]:
    words = grammar.words
    minus = {word.lower() for word in words.minus_words}

    def read(match: re.Match[str], text: str) -> _Said | None:
        heard = _context(match, grammar)
        if match.group("md") and not heard.qualified:
            return None  # "9 y 10" alone could be two numbers; "a las 9 y 10" is a time
        minute = _minutes(match, words)
        if minute is None or not 0 < minute < 60 or _followed_by_unit(match, text, grammar):
            return None
        hour = _number(match.group("h"), words)
        before = match.group("dir").lower() in minus
        return _said(heard, hour, minute, before=before, twenty_four=hour >= 13)

    return read


def _after_hour_read(grammar: _Grammar) -> Callable[[re.Match[str], str], _Said | None]:
    words = grammar.words

    def read(match: re.Match[str], text: str) -> _Said | None:
        heard = _context(match, grammar)
        if match.group("h").isdigit() and not heard.qualified:
            return None  # "nine thirty" is a time; "9 thirty" needs "at" or am/pm
        if _followed_by_unit(match, text, grammar):
            return None
        minute = words.after_hour_minutes[re.sub(r"\s+", " ", match.group("aw").lower())]
        hour = _number(match.group("h"), words)
        return _said(heard, hour, minute, twenty_four=hour >= 13)

    return read


def _minutes(match: re.Match[str], words: Lexicon) -> int | None:
    if match.group("md"):
        return int(match.group("md"))
    spoken = re.sub(r"\s+", " ", match.group("mw").lower())
    return words.minute_words.get(spoken)
