"""Property tests: any appointment written in any supported form reads back exactly.

For a generated date within the next 12 months, a time on the quarter hour, a language and a
way of writing both (numeric dates in the clinic's order), parse_appointment returns exactly
that date and time, flagged AMBIGUOUS only when the writing is genuinely ambiguous ("3/12",
"at 5:15"). Birth dates written in any of the usual ways never become the appointment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from actions.plan.clock import wall_instant
from actions.plan.dates import AppointmentIssue, ParsedAppointment, parse_appointment

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

ZONES = ("America/New_York", "Europe/Madrid", "Australia/Sydney", "UTC")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OPEN = {day: "00:00-23:59" for day in DAYS}
PROFILE = settings(max_examples=150, deadline=None, database=None)
YEARLESS_REACH = 330  # a yearless month-day ~1 year ahead is read as recently past, by design

EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
ES_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
ES_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
EN_HOURS = (
    "twelve", "one", "two", "three", "four", "five", "six",
    "seven", "eight", "nine", "ten", "eleven",
)  # fmt: skip
ES_HOURS = (
    "doce", "una", "dos", "tres", "cuatro", "cinco", "seis",
    "siete", "ocho", "nueve", "diez", "once",
)  # fmt: skip


@dataclass(frozen=True)
class Written:
    """A phrase, and whether a careful reader could take it two ways."""

    text: str
    ambiguous: bool


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _numeric(day: dt.date, order: str, year: bool) -> Written:
    first, second = (day.day, day.month) if order == "DMY" else (day.month, day.day)
    text = f"{first}/{second}" + (f"/{day.year}" if year else "")
    return Written(text, day.day <= 12 and day.day != day.month)


def write_date(day: dt.date, language: str, style: str, order: str) -> Written:
    """`day` written the way a patient would, in one of the supported forms."""
    if language == "en":
        forms = {
            "abbreviation": f"{MONTHS[day.month - 1]} {day.day} {day.year}",
            "day_month": f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}",
            "ordinal_of": f"the {_ordinal(day.day)} of {EN_MONTHS[day.month - 1]} {day.year}",
            "yearless": f"{EN_MONTHS[day.month - 1]} {day.day}",
            "iso": day.isoformat(),
        }
    else:
        month = ES_MONTHS[day.month - 1]
        forms = {
            "abbreviation": f"el {day.day} de {month} de {day.year}",
            "day_month": f"el {ES_WEEKDAYS[day.weekday()]} {day.day} de {month} de {day.year}",
            "ordinal_of": f"el día {day.day} de {month} de {day.year}",
            "yearless": f"el {day.day} de {month}",
            "iso": day.isoformat(),
        }
    if style == "numeric":
        return _numeric(day, order, year=True)
    if style == "numeric_yearless":
        return _numeric(day, order, year=False)
    return Written(forms[style], False)


def _english_part(hour: int) -> str:
    if hour == 0 or hour >= 22:
        return "at night"
    if hour < 12:
        return "in the morning"
    return "in the afternoon" if hour < 17 else "in the evening"


def _spanish_part(hour: int) -> str:
    if hour == 0 or hour >= 21:
        return "de la noche"
    if hour < 6:
        return "de la madrugada"
    if hour < 12:
        return "de la mañana"
    return "del mediodía" if hour == 12 else "de la tarde"


def write_time(at: dt.time, language: str, style: str) -> Written:
    """`at` (on the quarter hour) written in one of the supported forms."""
    hour, minute = at.hour, at.minute
    h12 = hour % 12 or 12
    meridiem = "am" if hour < 12 else "pm"
    early = 1 <= hour <= 6  # "at 5:15": a 12-hour reading is as likely
    if style == "clock":
        lead = "at" if language == "en" else ("a la" if hour == 1 else "a las")
        return Written(f"{lead} {hour}:{minute:02d}", early)
    if style == "zero_padded":
        lead = "at" if language == "en" else "a las"
        return Written(f"{lead} {hour:02d}:{minute:02d}h", False)
    if style == "packed":
        lead = "at" if language == "en" else "a las"
        return Written(f"{lead} {hour:02d}{minute:02d}", False)
    if language == "en" and style == "meridiem":
        return Written(f"at {h12}.{minute:02d}{meridiem}", False)
    if language == "en":
        return Written(_english_words(hour, minute), False)
    return Written(_spanish_words(hour, minute), False)


def _english_words(hour: int, minute: int) -> str:
    said = (hour + 1) % 24 if minute == 45 else hour
    name = EN_HOURS[said % 12]
    spoken = {
        0: f"{name} o'clock",
        15: f"quarter past {name}",
        30: f"half {name}",
        45: f"quarter to {name}",
    }[minute]
    return f"at {spoken} {_english_part(said)}"


def _spanish_words(hour: int, minute: int) -> str:
    said = (hour + 1) % 24 if minute == 45 else hour
    name = ES_HOURS[said % 12]
    lead = "a la" if said % 12 == 1 else "a las"
    spoken = {0: name, 15: f"{name} y cuarto", 30: f"{name} y media", 45: f"{name} menos cuarto"}
    return f"{lead} {spoken[minute]} {_spanish_part(said)}"


DATE_STYLES = ("abbreviation", "day_month", "ordinal_of", "yearless", "iso", "numeric")
DATE_STYLES += ("numeric_yearless",)
TIME_STYLES = {
    "en": ("clock", "zero_padded", "packed", "meridiem", "words"),
    "es": ("clock", "zero_padded", "packed", "words"),
}


@dataclass(frozen=True)
class Case:
    now: dt.datetime
    zone: str
    order: str
    language: str
    target: dt.date
    at: dt.time
    date: Written
    time: Written
    text: str


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone = draw(st.sampled_from(ZONES))
    today = draw(st.dates(dt.date(2025, 1, 1), dt.date(2029, 12, 31)))
    language = draw(st.sampled_from(("en", "es")))
    order = draw(st.sampled_from(("DMY", "MDY")))
    date_style = draw(st.sampled_from(DATE_STYLES))
    reach = YEARLESS_REACH if date_style in ("yearless", "numeric_yearless") else 365
    target = today + dt.timedelta(days=draw(st.integers(1, reach)))
    at = dt.time(draw(st.integers(0, 23)), draw(st.sampled_from((0, 15, 30, 45))))
    date = write_date(target, language, date_style, order)
    time = write_time(at, language, draw(st.sampled_from(TIME_STYLES[language])))
    if draw(st.booleans()):
        lead = "my appointment is on" if language == "en" else "tengo cita"
        text = f"{lead} {date.text} {time.text}"
    else:
        on = "on" if language == "en" else ""
        text = f"{time.text} {on} {date.text}"
    now = wall_instant(today, dt.time(10), ZoneInfo(zone))
    return Case(now, zone, order, language, target, at, date, time, text)


def _parse(case: Case, text: str) -> ParsedAppointment:
    return parse_appointment(
        text,
        now=case.now,
        time_zone=case.zone,
        date_order=case.order,
        opening_hours=OPEN,
        languages=(case.language,),
    )


@PROFILE
@given(case=cases())
def test_any_written_appointment_reads_back(case: Case) -> None:
    parsed = _parse(case, case.text)
    assert (parsed.date, parsed.time) == (case.target, case.at), case.text
    ambiguous = case.date.ambiguous or case.time.ambiguous
    assert parsed.issues == ((AppointmentIssue.AMBIGUOUS,) if ambiguous else ()), case.text


BIRTH_STYLES = ("numeric", "short_year", "words", "iso", "age")


def write_birth(born: dt.date, language: str, style: str, order: str) -> str:
    """A birth date (or an age) in one of the ways patients give it."""
    first, second = (born.day, born.month) if order == "DMY" else (born.month, born.day)
    if language == "en":
        return {
            "numeric": f"born {first}/{second}/{born.year}",
            "short_year": f"DOB {first}/{second}/{born.year % 100:02d}",
            "words": f"my date of birth is {EN_MONTHS[born.month - 1]} {born.day}, {born.year}",
            "iso": f"date of birth: {born.isoformat()}",
            "age": "I'm 64 years old",
        }[style]
    return {
        "numeric": f"fecha de nacimiento: {first}/{second}/{born.year}",
        "short_year": f"nací el {first}/{second}/{born.year % 100:02d}",
        "words": f"nací el {born.day} de {ES_MONTHS[born.month - 1]} de {born.year}",
        "iso": f"fecha de nacimiento {born.isoformat()}",
        "age": "tengo 64 años",
    }[style]


births = st.dates(dt.date(1930, 1, 1), dt.date(2005, 12, 31))


@PROFILE
@given(case=cases(), born=births, style=st.sampled_from(BIRTH_STYLES))
def test_a_birth_date_is_never_the_appointment(case: Case, born: dt.date, style: str) -> None:
    parsed = _parse(case, write_birth(born, case.language, style, case.order))
    assert parsed.date is None
    assert parsed.issues == (AppointmentIssue.NO_DATE, AppointmentIssue.NOT_APPOINTMENT,
                             AppointmentIssue.BIRTH_DATE)


@PROFILE
@given(case=cases(), born=births, style=st.sampled_from(BIRTH_STYLES))
def test_the_appointment_beside_a_birth_date_still_reads_back(
    case: Case, born: dt.date, style: str
) -> None:
    joiner = ", and" if case.language == "en" else " y"
    parsed = _parse(
        case, f"{write_birth(born, case.language, style, case.order)}{joiner} {case.text}"
    )
    assert (parsed.date, parsed.time) == (case.target, case.at)
    ambiguous = case.date.ambiguous or case.time.ambiguous
    assert parsed.issues == ((AppointmentIssue.AMBIGUOUS,) if ambiguous else ())


NO_MERIDIEM = {
    "en": ("at {n}", "at {n}:{mm}", "half {w}", "quarter past {w}", "{w} o'clock", "at {w}"),
    "es": ("a las {n}", "a las {n}:{mm}", "a las {w} y media", "a las {w} y cuarto"),
}
MINUTES = {"at {n}": 0, "{w} o'clock": 0, "at {w}": 0, "a las {n}": 0}
MINUTES |= {"half {w}": 30, "a las {w} y media": 30, "quarter past {w}": 15}
MINUTES |= {"a las {w} y cuarto": 15}


@PROFILE
@given(
    case=cases(),
    hour=st.integers(2, 12),  # "la una" takes "a la", not "a las"
    minute=st.sampled_from((0, 15, 30, 45)),
    data=st.data(),
)
def test_a_time_without_am_or_pm_is_never_moved_to_the_afternoon(
    case: Case, hour: int, minute: int, data: st.DataObject
) -> None:
    template = data.draw(st.sampled_from(NO_MERIDIEM[case.language]))
    names = EN_HOURS if case.language == "en" else ES_HOURS
    said = template.format(n=hour, mm=f"{minute:02d}", w=names[hour % 12])
    minute = MINUTES.get(template, minute)
    parsed = _parse(case, f"{said} {write_date(case.target, case.language, 'iso', 'DMY').text}")
    assert (parsed.date, parsed.time) == (case.target, dt.time(hour, minute)), said
    expected = (AppointmentIssue.AMBIGUOUS,) if hour <= 6 else ()
    assert parsed.issues == expected, said
