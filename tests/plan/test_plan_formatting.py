"""Patient-facing date and time fragments."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from actions.plan.formatting import format_date, format_datetime, format_time


def test_dates() -> None:
    day = dt.date(2026, 12, 3)
    assert format_date(day, "DMY") == "Thu 3 Dec"
    assert format_date(day, "MDY") == "Thu, Dec 3"
    assert format_date(day, "DMY", today=dt.date(2026, 11, 1)) == "Thu 3 Dec"
    assert format_date(dt.date(2027, 1, 5), "DMY", today=dt.date(2026, 12, 7)) == "Tue 5 Jan 2027"
    assert format_date(dt.date(2027, 1, 5), "MDY", today=dt.date(2026, 12, 7)) == "Tue, Jan 5, 2027"


@pytest.mark.parametrize(
    ("value", "mdy", "dmy"),
    [
        (dt.time(8, 0), "8:00 am", "08:00"),
        (dt.time(0, 5), "12:05 am", "00:05"),
        (dt.time(12, 0), "12:00 pm", "12:00"),
        (dt.time(20, 30), "8:30 pm", "20:30"),
    ],
)
def test_times(value: dt.time, mdy: str, dmy: str) -> None:
    assert (format_time(value, "MDY"), format_time(value, "DMY")) == (mdy, dmy)


def test_datetime_is_shown_in_the_clinic_zone() -> None:
    moment = dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.timezone.utc)
    assert format_datetime(moment, "MDY", time_zone="America/New_York") == "Thu, Dec 3, 8:00 am"
    assert format_datetime(moment, "DMY", time_zone="Europe/Madrid") == "Thu 3 Dec 14:00"
    local = moment.astimezone(ZoneInfo("Australia/Sydney"))
    assert format_datetime(local, "DMY") == "Fri 4 Dec 00:00"


def test_unknown_order_is_rejected() -> None:
    with pytest.raises(ValueError, match="date_order"):
        format_date(dt.date(2026, 12, 3), "YMD")
