"""Appointment readings: every common time form, Spanish (Spain) phrasing, and the dates in a
message that are not the appointment (birth dates, ages, past events).

Fixed `now`: Wednesday 18 Nov 2026, 10:00 in the clinic's zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from actions.plan.dates import AppointmentIssue, ParsedAppointment, parse_appointment

NY, MADRID = "America/New_York", "Europe/Madrid"
HOURS = {day: "08:00-17:00" for day in ("monday", "tuesday", "wednesday", "thursday")}
HOURS |= {"friday": "08:00-16:00", "saturday": "closed", "sunday": "closed"}
PAST = AppointmentIssue.PAST
AMBIGUOUS = AppointmentIssue.AMBIGUOUS
CLOSED = AppointmentIssue.CLINIC_CLOSED
NO_DATE = AppointmentIssue.NO_DATE
APPROXIMATE = AppointmentIssue.APPROXIMATE_TIME
NOT_APPOINTMENT = AppointmentIssue.NOT_APPOINTMENT
BIRTH = AppointmentIssue.BIRTH_DATE  # a birth date or an age among them: the patient is told why
Issues = tuple[AppointmentIssue, ...]


def parse(text: str, languages: tuple[str, ...] = ("en",), order: str = "MDY") -> ParsedAppointment:
    zone = MADRID if "es" in languages else NY
    now = dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo(zone))
    return parse_appointment(
        text, now=now, time_zone=zone, date_order=order, opening_hours=HOURS, languages=languages
    )


def d(month: int, day: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, day)


def t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


DEC3 = d(12, 3)  # a Thursday
FRI = d(11, 20)


@pytest.mark.parametrize("order", ["MDY", "DMY"])
@pytest.mark.parametrize(
    ("text", "date", "time", "issues"),
    [
        ("Dec 3 at 9.30", DEC3, t(9, 30), ()),
        ("Dec 3 at 9:30am", DEC3, t(9, 30), ()),
        ("Dec 3 9.30am", DEC3, t(9, 30), ()),
        ("Dec 3 at 9 30", DEC3, t(9, 30), ()),
        ("Dec 3 0930", DEC3, t(9, 30), ()),  # not the year 930
        ("0930 on Dec 3", DEC3, t(9, 30), ()),
        ("Dec 3 09:30h", DEC3, t(9, 30), ()),
        ("Dec 3 at half nine", DEC3, t(9, 30), ()),  # UK half nine: 9:30, not 21:30
        ("Dec 3 at half past nine", DEC3, t(9, 30), ()),
        ("Dec 3 quarter past 10", DEC3, t(10, 15), ()),
        ("Dec 3 at quarter to 9", DEC3, t(8, 45), ()),
        ("Dec 3 at ten past eight", DEC3, t(8, 10), ()),
        ("Dec 3 at twenty to eight", DEC3, t(7, 40), ()),
        ("Dec 3 at 9 in the morning", DEC3, t(9), ()),
        ("Dec 3 in the morning", DEC3, t(8), (APPROXIMATE,)),
        ("Dec 3 first thing", DEC3, t(6), (APPROXIMATE,)),
        ("tomorrow first thing in the morning", d(11, 19), t(6), (APPROXIMATE,)),
        ("Dec 3 at noon", DEC3, t(12), ()),
        ("Dec 3, midday", DEC3, t(12), ()),
        ("Friday lunchtime", FRI, t(12), (APPROXIMATE,)),
        ("Friday 9ish", FRI, t(9), (APPROXIMATE,)),
        ("Friday around 9", FRI, t(9), (APPROXIMATE,)),
        ("Friday 8 sharp", FRI, t(8), ()),
        ("Friday at half five", FRI, t(5, 30), (AMBIGUOUS,)),  # am or pm?
        ("Friday at half five pm", FRI, t(17, 30), ()),
        ("Friday evening at half nine", FRI, t(21, 30), ()),
        ("this afternoon at 3", d(11, 18), t(15), ()),
        ("tonight at 8", d(11, 18), t(20), ()),
        ("Friday next week at 10", d(11, 27), t(10), ()),
        ("the 14th at 0930", d(12, 14), t(9, 30), ()),
    ],
)
def test_english_time_forms(
    text: str, date: dt.date, time: dt.time, issues: Issues, order: str
) -> None:
    parsed = parse(text, order=order)
    assert (parsed.date, parsed.time, parsed.issues) == (date, time, issues)


def test_first_thing_names_early_morning() -> None:
    assert parse("Dec 3 first thing").part_of_day == "early_morning"
    assert parse("Friday lunchtime").part_of_day == "afternoon"


def test_four_digit_time_is_not_a_date_or_year() -> None:
    parsed = parse("3/12 at 0930", order="MDY")
    assert (parsed.date, parsed.time, parsed.alternative) == (d(3, 12, 2027), t(9, 30), DEC3)
    assert parse("0930").issues == (NO_DATE,)


@pytest.mark.parametrize(
    ("text", "time", "issues"),
    [
        ("half nine", t(9, 30), (NO_DATE,)),
        ("at 5", t(5), (AMBIGUOUS, NO_DATE)),  # a bare early hour stays ambiguous
        ("half five", t(5, 30), (AMBIGUOUS, NO_DATE)),
        ("around 9", t(9), (NO_DATE, APPROXIMATE)),
        ("in the morning", None, (NO_DATE,)),  # named (part_of_day), but no time assumed
        ("good morning", None, (NO_DATE,)),
        ("nothing after midnight but my procedure isn't until 1pm", t(13), (NO_DATE,)),
        ("I was told nothing after midnight, my procedure is at 1pm", t(13), (NO_DATE,)),
    ],
)
def test_english_times_without_a_day(text: str, time: dt.time | None, issues: Issues) -> None:
    parsed = parse(text)
    assert (parsed.date, parsed.time, parsed.issues) == (None, time, issues)


def test_a_part_of_day_alone_is_named_not_timed() -> None:
    parsed = parse("in the morning")
    assert (parsed.time, parsed.part_of_day) == (None, "morning")
    assert parse("good morning").part_of_day is None


ES = ("es",)


@pytest.mark.parametrize(
    ("text", "date", "time", "issues"),
    [
        ("el martes 15 a las nueve y media", d(12, 15), t(9, 30), ()),
        ("el 15 de diciembre a las 9:30", d(12, 15), t(9, 30), ()),
        ("15/12 a las 9", d(12, 15), t(9), ()),
        ("el 15/12 a las 9h", d(12, 15), t(9), ()),
        ("mañana a primera hora", d(11, 19), t(6), (APPROXIMATE,)),
        ("pasado mañana a las diez menos cuarto", FRI, t(9, 45), ()),
        ("el día 3", DEC3, None, ()),
        ("el 3 a las 10", DEC3, t(10), ()),
        ("dentro de dos semanas", d(12, 2), None, ()),
        ("en dos días a las 11", FRI, t(11), ()),
        ("manana a las 9", d(11, 19), t(9), ()),
        ("el miercoles a las 10", d(11, 25), t(10), ()),
        ("EL VIERNES A LAS NUEVE", FRI, t(9), ()),
        ("el viernes por la tarde", FRI, t(12), (APPROXIMATE,)),
        ("el viernes a las 5 de la tarde", FRI, t(17), ()),
        ("el viernes a mediodía", FRI, t(12), ()),
        ("mañana por la mañana", d(11, 19), t(8), (APPROXIMATE,)),
        ("mañana a las 9 de la mañana", d(11, 19), t(9), ()),
        ("esta tarde a las 5", d(11, 18), t(17), ()),
        ("hoy a las 8", d(11, 18), t(8), (PAST,)),
        ("el lunes 23 de noviembre a las 8:30", d(11, 23), t(8, 30), ()),
        ("tengo cita el jueves 3 de diciembre a las 8", DEC3, t(8), ()),
        ("el viernes de la semana que viene a las 10", d(11, 27), t(10), ()),
        ("el 4 de enero de 2027 a las 10:15", d(1, 4, 2027), t(10, 15), ()),
        ("el sábado a las 9", d(11, 21), t(9), (CLOSED,)),
        ("el martes 16 a las 9", d(12, 16), t(9), (AMBIGUOUS,)),  # 16 Dec is a Wednesday
        ("ayer", d(11, 17), None, (PAST,)),
        ("Mi Cita Es El Jueves A Las Ocho Y Cuarto", d(11, 19), t(8, 15), ()),
    ],
)
def test_spanish_appointments(
    text: str, date: dt.date, time: dt.time | None, issues: Issues
) -> None:
    parsed = parse(text, ES, "DMY")
    assert (parsed.date, parsed.time, parsed.issues) == (date, time, issues)


@pytest.mark.parametrize("text", ["el jueves que viene a las 8", "el próximo jueves a las 8"])
def test_spanish_next_weekday_is_ambiguous_early_in_the_week(text: str) -> None:
    parsed = parse(text, ES, "DMY")
    assert (parsed.date, parsed.time, parsed.alternative) == (d(11, 19), t(8), d(11, 26))
    assert parsed.issues == (AMBIGUOUS,)


def test_spanish_numeric_date_follows_the_clinic_order() -> None:
    parsed = parse("4/12 a las 9", ES, "DMY")
    assert (parsed.date, parsed.alternative, parsed.issues) == (
        d(12, 4),
        d(4, 12, 2027),
        (AMBIGUOUS,),
    )


def test_spanish_part_of_day_is_named() -> None:
    assert parse("mañana a primera hora", ES, "DMY").part_of_day == "early_morning"
    assert parse("el viernes por la tarde", ES, "DMY").part_of_day == "afternoon"


@pytest.mark.parametrize(
    ("text", "time", "issues"),
    [
        ("a las nueve y cuarto", t(9, 15), (NO_DATE,)),
        ("a las 9 de la mañana", t(9), (NO_DATE,)),
        ("a las 5 de la tarde", t(17), (NO_DATE,)),
        ("a mediodía", t(12), (NO_DATE,)),
        ("a las 5", t(5), (AMBIGUOUS, NO_DATE)),
        ("la semana que viene", None, (NO_DATE,)),  # a period, not a day
        ("el mes que viene", None, (NO_DATE,)),
        ("la próxima semana a las 9", t(9), (NO_DATE,)),
    ],
)
def test_spanish_without_a_day(text: str, time: dt.time | None, issues: Issues) -> None:
    parsed = parse(text, ES, "DMY")
    assert (parsed.date, parsed.time, parsed.issues) == (None, time, issues)


@pytest.mark.parametrize(
    ("text", "languages", "birth"),
    [
        ("born 14/03/1961", ("en",), True),
        ("DOB 14/3/61", ("en",), True),
        ("D.O.B. 14/03/1961", ("en",), True),
        ("date of birth: 03/14/1961", ("en",), True),
        ("my birthday is March 14", ("en",), True),
        ("my birthday is the 14th", ("en",), True),
        ("I was born on 14 March 1961", ("en",), True),
        ("I was born in 1961", ("en",), True),
        ("14/3/61 is my date of birth", ("en",), True),
        ("I'm 64 years old", ("en",), True),
        ("I had a steroid injection on 3/11", ("en",), False),
        ("I had my last injection on Nov 2", ("en",), False),
        ("my previous procedure was on March 3", ("en",), False),
        ("nací el 14/03/1961", ES, True),
        ("fecha de nacimiento: 14/03/1961", ES, True),
        ("mi fecha de nacimiento es el 14 de marzo de 1961", ES, True),
        ("naci el 14 de marzo de 1961", ES, True),
        ("tengo 64 años", ES, True),
        ("me operaron el 5 de mayo", ES, False),
        ("me hicieron una infiltración el 3 de noviembre", ES, False),
        ("me pusieron la inyección hace dos semanas", ES, False),
        ("la operación fue el 5 de mayo", ES, False),
        ("I had the rhizotomy this morning", ("en",), False),
    ],
)
def test_dates_that_are_not_the_appointment(text: str, languages: tuple[str, ...],
                                            birth: bool) -> None:
    """Birth dates and ages say why (BIRTH_DATE); a past event is only left out."""
    parsed = parse(text, languages, "DMY" if languages == ES else "MDY")
    assert parsed.date is None
    assert parsed.issues == ((NO_DATE, NOT_APPOINTMENT, BIRTH) if birth
                             else (NO_DATE, NOT_APPOINTMENT))
    assert parsed.time is None


@pytest.mark.parametrize(
    ("text", "languages", "date", "time"),
    [
        ("born 1961, my procedure is on the 14th at 8", ("en",), d(12, 14), t(8)),
        ("DOB 14/3/61, procedure Dec 3 at 8am", ("en",), DEC3, t(8)),
        ("14/3/61 is my date of birth and the appointment is Friday at 9", ("en",), FRI, t(9)),
        ("I had an injection on 3/11 and my procedure is on the 20th", ("en",), FRI, None),
        ("I'm 64 and my procedure is Dec 3 at 8", ("en",), DEC3, t(8)),
        ("I was told it's on Friday at 9", ("en",), FRI, t(9)),
        ("I got an appointment for Friday at 9", ("en",), FRI, t(9)),  # past tense, the booking
        ("my appointment was set for Friday at 9", ("en",), FRI, t(9)),
        ("they gave me Friday at 9", ("en",), FRI, t(9)),
        ("I already have my appointment on Friday at 9", ("en",), FRI, t(9)),
        ("me dieron cita para el viernes a las 9", ES, FRI, t(9)),
        ("ya tengo cita el viernes a las 9", ES, FRI, t(9)),
        ("it was moved to Friday at 9", ("en",), FRI, t(9)),
        ("nací el 14/03/1961 y la cita es el 14 a las 8", ES, d(12, 14), t(8)),
        (
            "me operaron el 5 de mayo y la rizotomía es el 14 de diciembre a las 9",
            ES,
            d(12, 14),
            t(9),
        ),
        ("tengo 64 años y la cita es mañana a las 9", ES, d(11, 19), t(9)),
        ("me han dicho que es el viernes a las 9", ES, FRI, t(9)),
    ],
)
def test_the_appointment_is_still_read_beside_them(
    text: str, languages: tuple[str, ...], date: dt.date, time: dt.time | None
) -> None:
    parsed = parse(text, languages, "DMY" if languages == ES else "MDY")
    assert (parsed.date, parsed.time, parsed.issues) == (date, time, ())


def test_birth_date_with_an_appointment_time_keeps_the_time() -> None:
    parsed = parse("DOB 14/3/61, procedure at 8am")
    assert (parsed.date, parsed.time, parsed.issues) == (None, t(8),
                                                         (NO_DATE, NOT_APPOINTMENT, BIRTH))


@pytest.mark.parametrize(
    ("text", "languages"),
    [
        ("I take it at 9am and my procedure is Friday", ("en",)),
        ("tomo la pastilla a las 9 y la cita es el viernes", ES),
    ],
)
def test_a_dose_time_is_not_the_procedure_time(text: str, languages: tuple[str, ...]) -> None:
    parsed = parse(text, languages, "DMY")
    assert (parsed.date, parsed.time) == (FRI, None)


def test_a_part_of_day_far_from_the_day_is_not_its_time() -> None:
    parsed = parse("nothing to eat from the night before; the procedure is on Friday")
    assert (parsed.date, parsed.time, parsed.part_of_day) == (FRI, None, None)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no date words"):
        parse("demain à 9 heures", ("fr",))


@pytest.mark.parametrize(
    ("text", "languages", "date", "time", "issues"),
    [
        ("I need to stop eating 6 hours before", ("en",), None, None, (NO_DATE,)),
        ("procedure Friday, nothing to eat after midnight", ("en",), FRI, None, ()),  # a limit
        ("Friday, can I eat before 6am", ("en",), FRI, None, ()),
        ("Friday at 9, nothing after midnight", ("en",), FRI, t(9), ()),
        ("la cita es el viernes, no comer después de las 12", ES, FRI, None, ()),
        ("my procedure is in 3 hours", ("en",), d(11, 18), t(13), ()),  # later today
        ("apixaban 2.5", ("en",), None, None, (NO_DATE,)),  # a dose, not 2 May
        ("fever 38.9 since the procedure", ("en",), None, None, (NO_DATE,)),
        ("i got a bill for £300", ("en",), None, None, (NO_DATE,)),
        ("I'm 5 minutes away", ("en",), None, None, (NO_DATE,)),
        (
            "since the ablation this morning my leg is numb",
            ("en",),
            None,
            None,
            (NO_DATE, NOT_APPOINTMENT),
        ),
        (
            "been sick all night, procedure this afternoon",
            ("en",),
            d(11, 18),
            t(12),
            (APPROXIMATE,),
        ),
        ("Dec 3 at 8, arrive 30 minutes early", ("en",), DEC3, t(8), ()),  # no day in "30 min"
        ("My appointment is at 10.15 on 3.12", ("en",), d(3, 12, 2027), t(10, 15), (AMBIGUOUS,)),
        ("el 15.12 a las 9", ES, d(12, 15), t(9), ()),  # a dotted date, common in Spain
        ("Friday between 9 and 10", ("en",), FRI, t(9), (APPROXIMATE,)),
        ("Friday between 2 and 3pm", ("en",), FRI, t(14), (APPROXIMATE,)),
        ("el viernes entre las 9 y las 10", ES, FRI, t(9), (APPROXIMATE,)),
        ("I had to reschedule it to Friday at 9", ("en",), FRI, t(9), ()),
        ("tuve que cambiarla al viernes a las 9", ES, FRI, t(9), ()),
        ("era el viernes pero ahora es el lunes a las 9", ES, d(11, 23), t(9), ()),
        ("it was on Friday but now it's Monday at 9", ("en",), d(11, 23), t(9), ()),
        ("I'll be there at 7:30 for an 8:00 procedure on Friday", ("en",), FRI, t(8), ()),
        ("la cita es mañana, ayer cené a las 9", ES, d(11, 19), None, ()),
        ("dejé el sintrom el lunes", ES, None, None, (NO_DATE, NOT_APPOINTMENT)),
        ("born 14.03.1961", ("en",), None, None, (NO_DATE, NOT_APPOINTMENT, BIRTH)),
    ],
)
def test_edges_found_while_probing(
    text: str,
    languages: tuple[str, ...],
    date: dt.date | None,
    time: dt.time | None,
    issues: Issues,
) -> None:
    parsed = parse(text, languages, "DMY" if languages == ES else "MDY")
    assert (parsed.date, parsed.time, parsed.issues) == (date, time, issues)


@pytest.mark.parametrize(
    ("text", "languages", "time"),
    [
        ("Thursday Dec 3 at 2:30", ("en",), t(14, 30)),  # the clinic is shut at 2:30 am
        ("el jueves 3 de diciembre a la una", ("es",), t(13)),
        ("el jueves 3 de diciembre a las 4 y media", ("es",), t(16, 30)),
    ],
)
def test_an_early_hour_is_the_afternoon_when_only_then_the_clinic_is_open(
        text: str, languages: tuple[str, ...], time: dt.time) -> None:
    parsed = parse(text, languages, "DMY" if "es" in languages else "MDY")
    assert (parsed.date, parsed.time, parsed.issues) == (DEC3, time, ())


def test_an_early_hour_the_clinic_is_shut_either_way_is_still_asked() -> None:
    assert parse("Thursday Dec 3 at 5:30").issues == (AMBIGUOUS,)  # 17:30: closed too


def test_a_spoken_time_at_the_end_of_a_sentence_is_read() -> None:
    parsed = parse("It's my neck, Dec 3 at half nine. I'm on apixaban.")
    assert (parsed.date, parsed.time) == (DEC3, t(9, 30))
    assert parse("Dec 3 at twenty to eleven.").time == t(10, 40)


@pytest.mark.parametrize(
    "text,date,time",
    [
        ("Lumbar RF, a fortnight today at 1pm.", d(12, 2), t(13)),
        ("a week today at 9am", d(11, 25), t(9)),
        ("quarter past ten on the second Wednesday from now", d(12, 2), t(10, 15)),
        ("Neck. Three weeks on Thursday, half nine.", d(12, 10), t(9, 30)),
        ("12 noon a week on Friday", d(11, 27), t(12)),
        ("two weeks from friday at 8am", d(12, 4), t(8)),
        ("Friday after next at 10am", d(11, 27), t(10)),
    ],
)
def test_weeks_counted_from_a_weekday_or_today(text: str, date: dt.date, time: dt.time) -> None:
    """UK "a week on Friday", US "two weeks from Friday", "a fortnight today": the next such
    weekday (or today) plus the weeks. Today is Wednesday 18 November."""
    found = parse(text)
    assert (found.date, found.time) == (date, time)


@pytest.mark.parametrize(
    "text,time",
    [
        ("Actually I just checked the letter, it's 10 not 9.30", t(10)),
        ("it's not at 9, it's at 10", t(10)),
        ("10am instead of 9", t(10)),
    ],
)
def test_the_time_said_not_to_be_it_is_not_read(text: str, time: dt.time) -> None:
    assert parse(text).time == time


@pytest.mark.parametrize("text", ["el miércoles a las 10 y cuarto.",
                                  "el miércoles a las 10 y media."])
def test_spanish_minutes_at_a_sentence_end(text: str) -> None:
    found = parse(text, ("es",), "DMY")
    assert found.time in (t(10, 15), t(10, 30))


@pytest.mark.parametrize(
    ("text", "date", "time"),
    [
        ("dema a les 9:15 tinc la cita", d(11, 19), t(9, 15)),  # demà: tomorrow
        ("divendres a les 10 del mati", FRI, t(10, 0)),
        ("em fan la rizolisi dijous a les 16:30", d(11, 19), t(16, 30)),
    ],
)
def test_catalan_day_and_time_words_in_a_spanish_clinic(
        text: str, date: dt.date, time: dt.time) -> None:
    parsed = parse(text, ("es",), "DMY")
    assert (parsed.date, parsed.time) == (date, time)
