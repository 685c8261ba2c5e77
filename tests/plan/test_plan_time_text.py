"""Clock times, parts of the day and dose-time words, in English and Spanish."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.plan.clock import PartOfDay
from actions.plan.date_words import fold, lexicon
from actions.plan.time_text import (
    ClockTime,
    dose_time_words,
    find_clock_times,
    find_parts_of_day,
    find_time,
    without_times,
)

EN, ES = ("en",), ("es",)
MORNING, AFTERNOON = PartOfDay.MORNING, PartOfDay.AFTERNOON
EVENING, NIGHT = PartOfDay.EVENING, PartOfDay.NIGHT


def clock(hour: int, minute: int = 0, fixed: bool = False, about: bool = False) -> ClockTime:
    return ClockTime(dt.time(hour, minute), fixed, about)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9.30", clock(9, 30)),
        ("9:30am", clock(9, 30, True)),
        ("9.30am", clock(9, 30, True)),
        ("9.30 pm", clock(21, 30, True)),
        ("9 30", clock(9, 30)),
        ("at 9 30", clock(9, 30)),
        ("0930", clock(9, 30, True)),  # a 24-hour form: not a year, not a date
        ("my slot is 0930. what now", clock(9, 30, True)),  # a full stop ends the sentence
        ("09:30h", clock(9, 30, True)),
        ("1730h", clock(17, 30, True)),
        ("at 1730", clock(17, 30, True)),
        ("17:00", clock(17, 0, True)),
        ("half nine", clock(9, 30)),  # UK: 9:30, never 21:30 unless pm is said
        ("half 9", clock(9, 30)),
        ("half nine pm", clock(21, 30, True)),
        ("half past nine", clock(9, 30)),
        ("quarter past 10", clock(10, 15)),
        ("a quarter past ten", clock(10, 15)),
        ("quarter to 9", clock(8, 45)),
        ("ten past eight", clock(8, 10)),
        ("twenty to eight", clock(7, 40)),
        ("twenty-five past 7am", clock(7, 25, True)),
        ("10 minutes to 9", clock(8, 50)),
        ("quarter to one", clock(12, 45)),
        ("nine thirty", clock(9, 30)),
        ("at nine", clock(9)),
        ("nine o'clock", clock(9)),
        ("9 in the morning", clock(9, 0, True)),
        ("7 in the evening", clock(19, 0, True)),
        ("10 at night", clock(22, 0, True)),
        ("noon", clock(12, 0, True)),
        ("12 noon", clock(12, 0, True)),
        ("midday", clock(12, 0, True)),
        ("midnight", clock(0, 0, True)),
        ("9ish", clock(9, 0, False, True)),
        ("9-ish", clock(9, 0, False, True)),
        ("around 9", clock(9, 0, False, True)),
        ("about half nine", clock(9, 30, False, True)),
        ("8 sharp", clock(8)),
        ("8:30 on the dot", clock(8, 30)),
        ("At 7.45AM", clock(7, 45, True)),
    ],
)
def test_english_clock_times(text: str, expected: ClockTime) -> None:
    assert find_time(text, EN) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a las nueve y media", clock(9, 30)),
        ("a las nueve y cuarto", clock(9, 15)),
        ("a las diez menos cuarto", clock(9, 45)),
        ("a las diez menos veinte", clock(9, 40)),
        ("a las ocho y diez", clock(8, 10)),
        ("a la una", clock(1)),
        ("a la una menos cuarto", clock(12, 45)),
        ("a las 9:30", clock(9, 30)),
        ("a las 9", clock(9)),
        ("a las 9 y 10", clock(9, 10)),
        ("a las 9h", clock(9, 0, True)),
        ("a las 21h", clock(21, 0, True)),
        ("a las 21:00", clock(21, 0, True)),
        ("a las 9 de la mañana", clock(9, 0, True)),
        ("a las 9 de la manana", clock(9, 0, True)),
        ("a las 5 de la tarde", clock(17, 0, True)),
        ("a las 10 de la noche", clock(22, 0, True)),
        ("a las 12 de la noche", clock(0, 0, True)),
        ("a las 3 de la madrugada", clock(3, 0, True)),
        ("a la 1 del mediodía", clock(13, 0, True)),
        ("a las nueve y media de la noche", clock(21, 30, True)),
        ("a mediodía", clock(12, 0, True)),
        ("al mediodia", clock(12, 0, True)),
        ("a medianoche", clock(0, 0, True)),
        ("a las 9 en punto", clock(9)),
        ("sobre las 9", clock(9, 0, False, True)),
        ("a eso de las nueve", clock(9, 0, False, True)),
        ("las 9 más o menos", clock(9, 0, False, True)),
        ("A LAS NUEVE Y MEDIA", clock(9, 30)),
        ("a las 0930", clock(9, 30, True)),
    ],
)
def test_spanish_clock_times(text: str, expected: ClockTime) -> None:
    assert find_time(text, ES) == expected


@pytest.mark.parametrize(
    ("text", "languages"),
    [
        ("I take 5 mg", EN),
        ("at 3 days", EN),
        ("13 pm", EN),
        ("3.12", EN),  # a date in both orders, not 3:12
        ("14.03.1961", EN),
        ("in 2027", EN),
        ("in 2027.", EN),  # a year at the end of a sentence is still a year
        ("1130.5", EN),
        ("born 1961", EN),
        ("Dec 9 30", EN),
        ("half a tablet", EN),
        ("tengo 2 pastillas", ES),
        ("ayuno de 6 horas", ES),
        ("tomo 2 cada 8h", ES),
        ("9 y 10", ES),
        ("el 15/12", ES),
    ],
)
def test_not_clock_times(text: str, languages: tuple[str, ...]) -> None:
    assert find_clock_times(text, languages) == []


@pytest.mark.parametrize(
    ("text", "languages", "expected"),
    [
        ("I take it at 9am and 9pm", EN, [clock(9, 0, True), clock(21, 0, True)]),
        ("half eight and half nine at night", EN, [clock(8, 30), clock(21, 30, True)]),
        ("una a las 9 y otra a las 21h", ES, [clock(9), clock(21, 0, True)]),
        ("a las nueve y media y a las diez menos cuarto", ES, [clock(9, 30), clock(9, 45)]),
    ],
)
def test_every_clock_time_in_order(
    text: str, languages: tuple[str, ...], expected: list[ClockTime]
) -> None:
    times = find_clock_times(text, languages)
    assert times == expected
    assert [found.start for found in times] == sorted(found.start for found in times)


def test_clock_times_carry_their_position() -> None:
    text = "el martes a las nueve y media"
    (found,) = find_clock_times(text, ES)
    assert text[found.start : found.end] == "a las nueve y media"
    assert without_times(text, ES).strip() == "el martes"


@pytest.mark.parametrize(
    ("text", "languages", "parts"),
    [
        ("tomorrow morning", EN, ["morning"]),
        ("in the morning", EN, ["morning"]),
        ("first thing", EN, ["early_morning"]),
        ("first thing in the morning", EN, ["early_morning"]),
        ("lunchtime", EN, ["afternoon"]),
        ("at lunch", EN, ["afternoon"]),
        ("Friday afternoon", EN, ["afternoon"]),
        ("9 in the morning", EN, []),  # a clock time, not a part of the day
        ("mañana a primera hora", ES, ["early_morning"]),
        ("el viernes por la tarde", ES, ["afternoon"]),
        ("por la noche", ES, ["night"]),
        ("de madrugada", ES, ["early_morning"]),
        ("a la hora de comer", ES, ["afternoon"]),
        ("a las 9 de la mañana", ES, []),
        ("mañana", ES, []),  # tomorrow, not the morning
    ],
)
def test_parts_of_day(text: str, languages: tuple[str, ...], parts: list[str]) -> None:
    assert [found.part for found in find_parts_of_day(text, languages)] == parts


@pytest.mark.parametrize(
    ("text", "languages", "parts"),
    [
        ("with breakfast", EN, [MORNING]),
        ("one with breakfast and one with dinner", EN, [MORNING, EVENING]),
        ("at night", EN, [NIGHT]),
        ("before bed", EN, [NIGHT]),
        ("with lunch", EN, [AFTERNOON]),
        ("when I wake up", EN, [MORNING]),
        ("in the evening", EN, [EVENING]),
        ("I take it with my supper", EN, [EVENING]),
        ("con el desayuno", ES, [MORNING]),
        ("con la cena", ES, [EVENING]),
        ("por la noche", ES, [NIGHT]),
        ("antes de dormir", ES, [NIGHT]),
        ("antes de acostarme", ES, [NIGHT]),
        ("una con el desayuno y otra con la cena", ES, [MORNING, EVENING]),
        ("con la comida", ES, [AFTERNOON]),
        ("por la mañana y por la noche", ES, [MORNING, NIGHT]),
        ("I take 5 mg", EN, []),
    ],
)
def test_dose_time_words(text: str, languages: tuple[str, ...], parts: list[PartOfDay]) -> None:
    assert dose_time_words(text, languages) == parts


def test_dose_time_words_are_named_once() -> None:
    assert dose_time_words("at night, every night", EN) == [NIGHT]


def test_merged_languages_read_both() -> None:
    assert find_clock_times("at half nine o a las diez menos cuarto", ("en", "es")) == [
        clock(9, 30),
        clock(9, 45),
    ]


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no date words"):
        find_time("à neuf heures", ("fr",))
    with pytest.raises(ValueError, match="at least one"):
        lexicon(())


def test_fold_keeps_the_length_of_composed_text() -> None:
    for text in ("miércoles", "mañana", "o’clock", "sábado"):
        assert len(fold(text)) == len(text)
    assert fold("Miércoles, MAÑANA") == "Miercoles, MANANA"
    assert fold("man\u0303ana") == "manana"  # decomposed input is composed first
