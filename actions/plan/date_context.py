"""Tell which dates and times in a message are not the appointment.

Why: patients give more than one date. "DOB 14/3/61", "I was born on the 14th", "tengo 64
años", "I had a steroid injection on 3/11" or "me operaron el 5 de mayo" are read by dateparser
as happily as the booking itself, and a birth date taken for the procedure date shifts every
fasting cut-off. A birth date, an age and a sentence about something that already happened are
found here so the parser can leave them out; a sentence that says when the procedure is booked
("I was told it's on Friday", "me han dicho que es el 14") is kept. Likewise a sentence about a
medicine ("I take it at 9am") gives no procedure time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from actions.plan.date_words import Lexicon, alternation, fold, lexicon, spaced

Span = tuple[int, int]
_SENTENCE_END = r"[;!?\n]|(?<!\d)[.](?!\d)|[.](?=\s)|,(?!\d)|\s[-–]\s|\(|\)"


@dataclass(frozen=True)
class MessageContext:
    """The parts of one message that must not give the appointment's date or time."""

    not_appointment: tuple[Span, ...]  # birth dates, ages, sentences about the past or a meal
    about_medicine: tuple[Span, ...]  # sentences about when a dose is taken
    ages: tuple[Span, ...] = ()  # "tengo 64 años" (also in not_appointment)
    births: tuple[Span, ...] = ()  # "DOB 14/3/61" (also in not_appointment)
    about_appointment: tuple[Span, ...] = ()  # sentences naming the procedure or appointment

    def excluded(self) -> tuple[Span, ...]:
        """Everything that must not give the appointment's time."""
        return self.not_appointment + self.about_medicine


@dataclass(frozen=True)
class _ContextPatterns:
    birth_before: re.Pattern[str]  # "born 14/03/1961", "fecha de nacimiento: 14/3/61"
    birth_after: re.Pattern[str]  # "14/3/61 is my date of birth"
    age: re.Pattern[str]
    past: re.Pattern[str]
    past_markers: re.Pattern[str]
    booked_for: re.Pattern[str]
    booking: re.Pattern[str]
    nouns: re.Pattern[str]
    dose: re.Pattern[str]
    meal: re.Pattern[str]
    clause_end: re.Pattern[str]
    cutoff_before: re.Pattern[str]
    rejected_before: re.Pattern[str]


def read_context(text: str, languages: Sequence[str] = ("en",)) -> MessageContext:
    """Find the birth dates, ages, past events and medicine sentences in `text` (positions)."""
    found = _patterns(tuple(languages))
    folded = fold(text)
    ages = [match.span() for match in found.age.finditer(folded)]
    spans: list[Span] = list(ages)
    births = [match.span() for pattern in (found.birth_before, found.birth_after)
              for match in pattern.finditer(folded)]
    spans.extend(births)
    medicine: list[Span] = []
    appointment: list[Span] = []
    for start, end in clauses(folded, found):
        clause = folded[start:end]
        if found.nouns.search(clause):
            appointment.append((start, end))
        if found.booking.search(clause):
            continue
        if _already_happened(clause, found) or (
                found.meal.search(clause) and not found.nouns.search(clause)):
            spans.append((start, end))  # a past event, or a meal ("a roast at 7 on sunday")
        elif found.dose.search(clause) and not found.nouns.search(clause):
            medicine.append((start, end))
    return MessageContext(tuple(sorted(spans)), tuple(medicine), ages=tuple(ages),
                          births=tuple(births), about_appointment=tuple(appointment))


def _already_happened(clause: str, found: _ContextPatterns) -> bool:
    """ "I had an injection on 3/11", "my last procedure was": yes. "I got an appointment for
    Friday", "my appointment was set for the 5th": no, a past tense that reports the booking."""
    if found.past_markers.search(clause):
        return True
    if not found.past.search(clause):
        return False
    return not (found.nouns.search(clause) and found.booked_for.search(clause))


def is_cut_off(text: str, start: int, languages: Sequence[str] = ("en",)) -> bool:
    """Whether the time at `start` is a limit ("nothing after midnight", "antes de las 8").

    Why: fasting instructions sit next to the day ("Friday, nothing after midnight") and
    must not become the procedure time.
    """
    before = fold(text[max(0, start - 24) : start])
    return _patterns(tuple(languages)).cutoff_before.search(before) is not None


def is_rejected(text: str, start: int, languages: Sequence[str] = ("en",)) -> bool:
    """Whether the time at `start` is the one the patient says it is not ("10 not 9.30",
    "a las 10, no a las 9")."""
    before = fold(text[max(0, start - 24) : start])
    return _patterns(tuple(languages)).rejected_before.search(before) is not None


def clauses(folded: str, found: _ContextPatterns) -> list[Span]:
    """Clause spans: split at sentence ends, commas and "and my ..." / "y la ..." joins."""
    spans: list[Span] = []
    start = 0
    for match in found.clause_end.finditer(folded):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(folded)))
    return [(a, b) for a, b in spans if folded[a:b].strip()]


def overlaps(span: Span, spans: Sequence[Span]) -> bool:
    """Whether `span` shares a character with any of `spans`."""
    return any(start < span[1] and span[0] < end for start, end in spans)


@lru_cache(maxsize=16)
def _patterns(languages: tuple[str, ...]) -> _ContextPatterns:
    words = lexicon(languages)
    flags = re.IGNORECASE
    date = _date_like(words)
    filler = r"(?:\s*[:,\-]?\s*(?:is|was|on|in|el|en|es|the|de|fue|a|:)\b)*"
    number = r"\d{1,3}"
    ages = [spaced(phrase).replace("{n}", number) for phrase in words.age_phrases]
    return _ContextPatterns(
        birth_before=re.compile(
            rf"(?<![\w]){alternation(words.birth_words)}{filler}\s*[:,\-]?\s*{date}", flags
        ),
        birth_after=re.compile(
            rf"{date}\s*[(,\-]?\s*{alternation(words.birth_after)}(?![\w])", flags
        ),
        age=re.compile(rf"(?<![\w])(?:{'|'.join(ages)})(?![\w])", flags),
        past=_words(words.past_event_words),
        past_markers=_words(words.past_markers),
        booked_for=_words(words.booked_for),
        booking=_words(words.booking_words),
        nouns=_words(words.appointment_nouns),
        dose=_words(words.dose_words),
        meal=_words(words.meal_words),
        cutoff_before=re.compile(
            rf"(?<![\w]){alternation(words.cutoff_words)}\s*$" if words.cutoff_words else "(?!)",
            flags,
        ),
        rejected_before=re.compile(
            rf"(?<![\w]){alternation(words.rejected_words)}\s*$" if words.rejected_words
            else "(?!)",
            flags,
        ),
        clause_end=re.compile(
            rf"{_SENTENCE_END}|\s(?:{'|'.join(spaced(j) for j in words.clause_joiners)})(?=\s)"
            if words.clause_joiners
            else _SENTENCE_END,
            flags,
        ),
    )


def _words(fragments: Sequence[str]) -> re.Pattern[str]:
    if not fragments:
        return re.compile("(?!)")
    return re.compile(rf"(?<![\w']){alternation(fragments)}(?![\w])", re.IGNORECASE)


def _date_like(words: Lexicon) -> str:
    """Any written date, with or without a year: "14/03/1961", "14 de marzo de 1961", "1961"."""
    month = alternation([name for names in words.months for name in names])
    ordinal = r"\d{1,2}(?:st|nd|rd|th|º)?"
    year = r"(?:\d{4}|'?\d{2})"
    return (
        r"(?:\d{4}-\d{1,2}-\d{1,2}"
        r"|\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?"
        rf"|(?:the\s+)?{ordinal}(?:\s+(?:of|de))?\s+{month}\b\.?(?:,?\s+(?:of\s+|de\s+)?{year})?"
        rf"|{month}\b\.?\s+(?:the\s+)?{ordinal}(?:,?\s+{year})?"
        rf"|{month}\b\.?,?\s+(?:of\s+|de\s+)?\d{{4}}"
        r"|(?:19|20)\d{2})(?![\w/])"
    )
