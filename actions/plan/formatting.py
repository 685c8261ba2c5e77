"""Dates and times as patients of this clinic write them.

Why no strftime: `%a`/`%b` follow the server's C locale, so the same plan could read differently
on two machines. Sentences are not built here: they come from the approved KB templates, which
receive these fragments as placeholder values.
"""

from __future__ import annotations

import datetime as dt

from actions.plan.clock import clinic_zone, require_aware

WEEKDAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def _check_order(date_order: str) -> None:
    if date_order not in ("DMY", "MDY"):
        raise ValueError(f"date_order must be 'DMY' or 'MDY', got {date_order!r}")


def format_date(value: dt.date, date_order: str, *, today: dt.date | None = None) -> str:
    """A date as "Tue 3 Dec" (DMY) or "Tue, Dec 3" (MDY), with the year if not `today`'s.

    A datetime is shown by its own wall date, so convert it to the clinic's zone first.
    """
    _check_order(date_order)
    weekday = WEEKDAY_ABBREVIATIONS[value.weekday()]
    month = MONTH_ABBREVIATIONS[value.month - 1]
    show_year = today is not None and value.year != today.year
    if date_order == "DMY":
        text = f"{weekday} {value.day} {month}"
        return f"{text} {value.year}" if show_year else text
    text = f"{weekday}, {month} {value.day}"
    return f"{text}, {value.year}" if show_year else text


def format_time(value: dt.time, date_order: str) -> str:
    """A time as "8:00 am" (MDY, 12-hour clinics) or "08:00" (DMY, 24-hour clinics)."""
    _check_order(date_order)
    if date_order == "DMY":
        return f"{value.hour:02d}:{value.minute:02d}"
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}:{value.minute:02d} {suffix}"


def format_datetime(
    value: dt.datetime,
    date_order: str,
    *,
    time_zone: str | None = None,
    today: dt.date | None = None,
) -> str:
    """A moment as "Tue 3 Dec 08:00" (DMY) or "Tue, Dec 3, 8:00 am" (MDY), in `time_zone`."""
    if time_zone is not None:
        require_aware(value, "value")
        value = value.astimezone(clinic_zone(time_zone))
    separator = " " if date_order == "DMY" else ", "
    day = format_date(value.date(), date_order, today=today)
    return f"{day}{separator}{format_time(value.time(), date_order)}"
