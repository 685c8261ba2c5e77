"""Patient-facing date and time fragments in the clinic's style and the patient's language."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from actions.plan.formatting import (
    DateStyle,
    Locale,
    describe_opening_hours,
    format_date,
    format_datetime,
    format_time,
)

ENGLISH = Locale.from_words("Mon Tue Wed Thu Fri Sat Sun",
                            "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
                            "am", "pm", "midnight", "noon", "and")
SPANISH = Locale.from_words("lun mar mié jue vie sáb dom",
                            "ene feb mar abr may jun jul ago sep oct nov dic",
                            "a. m.", "p. m.", "medianoche", "mediodía", "y")
US = DateStyle("MDY", "12h")
SPAIN = DateStyle("DMY", "24h")


def test_dates() -> None:
    day = dt.date(2026, 12, 3)
    assert format_date(day, SPAIN, ENGLISH) == "Thu 3 Dec"
    assert format_date(day, US, ENGLISH) == "Thu, Dec 3"
    assert format_date(day, SPAIN, SPANISH) == "jue 3 dic"
    assert format_date(dt.date(2027, 1, 5), SPAIN, ENGLISH, today=dt.date(2026, 12, 7)) \
        == "Tue 5 Jan 2027"
    assert format_date(dt.date(2027, 1, 5), US, ENGLISH, today=dt.date(2026, 12, 7)) \
        == "Tue, Jan 5, 2027"


@pytest.mark.parametrize(
    ("value", "us", "spain"),
    [
        (dt.time(8, 0), "8:00 am", "08:00"),
        (dt.time(0, 5), "12:05 am", "00:05"),
        (dt.time(12, 0), "noon", "12:00"),
        (dt.time(20, 30), "8:30 pm", "20:30"),
    ],
)
def test_times(value: dt.time, us: str, spain: str) -> None:
    assert (format_time(value, US, ENGLISH), format_time(value, SPAIN, ENGLISH)) == (us, spain)


def test_datetime_is_shown_in_the_clinic_zone() -> None:
    moment = dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.timezone.utc)
    assert format_datetime(moment, US, ENGLISH, time_zone="America/New_York") \
        == "Thu, Dec 3, 8:00 am"
    assert format_datetime(moment, SPAIN, SPANISH, time_zone="Europe/Madrid") == "jue 3 dic 14:00"


def test_midnight_is_the_end_of_the_day_before() -> None:
    midnight = dt.datetime(2026, 12, 15, 0, 0, tzinfo=ZoneInfo("America/New_York"))
    assert format_datetime(midnight, US, ENGLISH) == "Mon, Dec 14, midnight"
    assert format_datetime(midnight, SPAIN, SPANISH) == "lun 14 dic medianoche"


def test_opening_hours_in_each_language() -> None:
    hours = {"monday": "08:00-17:00", "tuesday": "08:00-17:00", "wednesday": "08:00-17:00",
             "thursday": "08:00-17:00", "friday": "08:00-16:00", "saturday": "closed",
             "sunday": "closed"}
    assert describe_opening_hours(hours, ENGLISH) == "Mon-Thu 08:00-17:00, Fri 08:00-16:00"
    assert describe_opening_hours(hours, SPANISH) == "lun-jue 08:00-17:00, vie 08:00-16:00"


def test_unknown_order_or_clock_is_rejected() -> None:
    with pytest.raises(ValueError, match="date_order"):
        DateStyle("YMD", "24h")
    with pytest.raises(ValueError, match="clock"):
        DateStyle("DMY", "13h")
