"""Unit tests for the regular-expression helpers dateparser needs around it."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.plan.date_text import (
    ClockTime,
    expand_day_ordinals,
    find_time,
    has_date_anchor,
    is_vague_period,
    next_day_of_month,
    numeric_date,
    prepare,
    says_next_weekday,
    spell_out_hours,
    weekday_named,
)

TODAY = dt.date(2026, 11, 18)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8:30", ClockTime(dt.time(8, 30), False)),
        ("7:30am", ClockTime(dt.time(7, 30), True)),
        ("8 pm", ClockTime(dt.time(20), True)),
        ("12 am", ClockTime(dt.time(0), True)),
        ("12:15 p.m.", ClockTime(dt.time(12, 15), True)),
        ("at 9", ClockTime(dt.time(9), False)),
        ("9 o'clock", ClockTime(dt.time(9), False)),
        ("noon", ClockTime(dt.time(12), True)),
        ("I take 5 mg", None),
        ("at 3 days", None),
        ("13 pm", None),
    ],
)
def test_find_time(text: str, expected: ClockTime | None) -> None:
    assert find_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("next Tuesday at 9", "next Tuesday at 9:00"),
        ("at 9am", "at 9am"),
        ("at 10.30", "at 10.30"),
        ("at 5 mg", "at 5 mg"),
        ("9 o'clock", "9:00"),
    ],
)
def test_spell_out_hours(text: str, expected: str) -> None:
    assert spell_out_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on the 5th", "on December 5 2026"),
        ("the 20th at 8am", "November 20 2026 at 8am"),
        ("18th", "November 18 2026"),
        ("Thursday the 3rd", "Thursday December 3 2026"),
        ("Dec 3rd", "Dec 3rd"),
        ("December the 3rd", "December the 3rd"),
        ("3rd Dec", "3rd Dec"),
        ("the 5th of next month", "the 5th of next month"),
        ("my 2nd appointment", "my 2nd appointment"),
    ],
)
def test_expand_day_ordinals(text: str, expected: str) -> None:
    assert expand_day_ordinals(text, TODAY) == expected


def test_next_day_of_month_skips_short_months() -> None:
    assert next_day_of_month(31, dt.date(2027, 2, 1)) == dt.date(2027, 3, 31)
    assert next_day_of_month(30, dt.date(2028, 2, 15)) == dt.date(2028, 3, 30)
    assert next_day_of_month(29, dt.date(2028, 2, 15)) == dt.date(2028, 2, 29)
    assert next_day_of_month(0, TODAY) is None


@pytest.mark.parametrize(
    ("text", "anchored"),
    [
        ("a day", False),
        ("at 8:30", False),
        ("now", False),
        ("Dec 3 at 8am", True),
        ("friday", True),
        ("in two weeks", True),
        ("tomorrow", True),
        ("3/12", True),
    ],
)
def test_has_date_anchor(text: str, anchored: bool) -> None:
    assert has_date_anchor(text) is anchored


def test_numeric_date() -> None:
    found = numeric_date("3/12/27")
    assert found is not None and (found.first, found.second, found.year) == (3, 12, 2027)
    assert numeric_date("2026-12-03") is None
    assert numeric_date("8:30") is None


ES = ("es",)


@pytest.mark.parametrize(
    ("text", "languages", "expected"),
    [
        ("el martes 15 a las 9", ES, "el martes 15 de diciembre de 2026 a las 9"),
        ("el día 3", ES, "el 3 de diciembre de 2026"),
        ("el 3", ES, "el 3 de diciembre de 2026"),
        ("el 14 a las 8", ES, "el 14 de diciembre de 2026 a las 8"),
        ("el 15 de diciembre", ES, "el 15 de diciembre"),
        ("el 5/12", ES, "el 5/12"),
        ("tomo una el 1 de cada mes", ES, "tomo una el 1 de cada mes"),
        ("pasado mañana", ES, "20 de noviembre de 2026"),
        ("antes de ayer", ES, "16 de noviembre de 2026"),
        ("dentro de dos semanas", ES, "2 de diciembre de 2026"),
        ("en 3 días", ES, "21 de noviembre de 2026"),
        ("dentro de un mes", ES, "18 de diciembre de 2026"),
        ("el viernes de la semana que viene", ES, "viernes 27 de noviembre de 2026"),
        ("esta tarde", ES, "hoy por la tarde"),
        ("in two weeks", ("en",), "December 2 2026"),
        ("Friday next week", ("en",), "Friday November 27 2026"),
        ("this morning", ("en",), "today morning"),
        ("the 20th at 8am", ("en",), "November 20 2026 at 8am"),
    ],
)
def test_prepare(text: str, languages: tuple[str, ...], expected: str) -> None:
    assert prepare(text, TODAY, languages) == expected


@pytest.mark.parametrize(
    ("text", "anchored"),
    [
        ("mañana", True),
        ("manana", True),
        ("el miércoles", True),
        ("hoy", True),
        ("15 de diciembre", True),
        ("dentro de dos semanas", True),
        ("la semana que viene", True),
        ("a las 9:30", False),
        ("un día", False),
    ],
)
def test_spanish_date_anchor(text: str, anchored: bool) -> None:
    assert has_date_anchor(text, ES) is anchored


def test_spanish_weekdays_and_periods() -> None:
    assert weekday_named("el sábado", ES) == 5
    assert weekday_named("el MIERCOLES", ES) == 2
    assert says_next_weekday("el jueves que viene", ES)
    assert says_next_weekday("el próximo jueves", ES)
    assert not says_next_weekday("el jueves", ES)
    assert is_vague_period("la semana que viene", ES)
    assert is_vague_period("el mes que viene", ES)
    assert not is_vague_period("el 5 del mes que viene", ES)


def test_english_helpers_keep_their_default_language() -> None:
    assert weekday_named("next Tues") == 1
    assert says_next_weekday("next Friday")
    assert not has_date_anchor("el jueves")
