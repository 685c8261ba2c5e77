"""Dates and times as patients of this clinic read them, in their language.

Why no strftime: `%a`/`%b` follow the server's C locale, so the same plan could read differently
on two machines, and the words are patient-facing: weekday and month names, "am"/"pm",
"midnight" come from the KB (texts `locale.*`, reviewed per language) through `Locale`.
Sentences are not built here: they come from the approved KB templates, which receive these
fragments as placeholder values.

Midnight is never written "12:00 am" or "00:00 Tue" (patients read both as the wrong night): a
moment at 00:00 is shown as the day before plus the locale's word for midnight ("Mon, Dec 14,
midnight"), i.e. the end of that day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from actions.plan.clock import clinic_zone, opening_range, require_aware

DATE_ORDERS = ("DMY", "MDY")
CLOCKS = ("12h", "24h")


@dataclass(frozen=True)
class Locale:
    """The words of one language for dates and times (from the KB's locale.* texts)."""

    weekdays: tuple[str, ...]  # Monday first
    months: tuple[str, ...]  # January first
    am: str
    pm: str
    midnight: str
    noon: str
    conjunction: str  # "and": joins the last two items of a list
    closed: str = ""  # "closed": days the clinic does not open, in the opening hours

    def __post_init__(self) -> None:
        if len(self.weekdays) != 7 or len(self.months) != 12:
            raise ValueError("a locale needs 7 weekday names and 12 month names")

    @classmethod
    def from_words(cls, weekdays: str, months: str, am: str, pm: str, midnight: str,
                   noon: str, conjunction: str, closed: str = "") -> Locale:
        """Build from the KB texts (weekdays and months separated by spaces)."""
        return cls(tuple(weekdays.split()), tuple(months.split()), am, pm, midnight, noon,
                   conjunction, closed)

    def join(self, items: list[str]) -> str:
        """"a", "a and b", "a, b and c"."""
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self.conjunction} {items[-1]}"


# The KB texts a Locale is built from (locale.<name>), in `Locale.from_words` order.
LOCALE_KEYS = ("weekdays", "months", "am", "pm", "midnight", "noon", "and", "closed")


@dataclass(frozen=True)
class DateStyle:
    """How a clinic writes dates: day or month first, 12- or 24-hour clock."""

    order: str  # "DMY" | "MDY"
    clock: str  # "12h" | "24h"

    def __post_init__(self) -> None:
        if self.order not in DATE_ORDERS:
            raise ValueError(f"date_order must be 'DMY' or 'MDY', got {self.order!r}")
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be '12h' or '24h', got {self.clock!r}")


def format_date(value: dt.date, style: DateStyle, locale: Locale, *,
                today: dt.date | None = None) -> str:
    """A date as "Tue 3 Dec" (DMY) or "Tue, Dec 3" (MDY), with the year if not `today`'s.

    A datetime is shown by its own wall date, so convert it to the clinic's zone first.
    """
    weekday = locale.weekdays[value.weekday()]
    month = locale.months[value.month - 1]
    show_year = today is not None and value.year != today.year
    if style.order == "DMY":
        text = f"{weekday} {value.day} {month}"
        return f"{text} {value.year}" if show_year else text
    text = f"{weekday}, {month} {value.day}"
    return f"{text}, {value.year}" if show_year else text


def format_time(value: dt.time, style: DateStyle, locale: Locale) -> str:
    """A time as "8:00 am" (12h) or "08:00" (24h); noon by its name on a 12-hour clock.

    00:00 is not given here (see `format_datetime`, which names it as midnight).
    """
    if style.clock == "24h":
        return f"{value.hour:02d}:{value.minute:02d}"
    if value.hour == 12 and value.minute == 0:
        return locale.noon
    hour = value.hour % 12 or 12
    suffix = locale.am if value.hour < 12 else locale.pm
    return f"{hour}:{value.minute:02d} {suffix}"


def format_datetime(value: dt.datetime, style: DateStyle, locale: Locale, *,
                    time_zone: str | None = None, today: dt.date | None = None) -> str:
    """A moment as "Tue 3 Dec 08:00" (DMY) or "Tue, Dec 3, 8:00 am" (MDY), in `time_zone`.

    Exactly midnight reads "Mon, Dec 14, midnight": the end of the day before.
    """
    if time_zone is not None:
        require_aware(value, "value")
        value = value.astimezone(clinic_zone(time_zone))
    separator = " " if style.order == "DMY" else ", "
    if value.hour == 0 and value.minute == 0:
        day = format_date(value.date() - dt.timedelta(days=1), style, locale, today=today)
        return f"{day}{separator}{locale.midnight}"
    day = format_date(value.date(), style, locale, today=today)
    return f"{day}{separator}{format_time(value.time(), style, locale)}"


def describe_opening_hours(hours: dict[str, str], locale: Locale,
                           style: DateStyle | None = None, closed_days: bool = False) -> str:
    """Opening hours as one line, consecutive equal days grouped: "Mon-Thu 08:00-17:00", or
    "Mon-Thu 8:00 am-5:00 pm" in a 12-hour clinic's style (a patient asked "and Fridays?")."""
    order = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    groups: list[tuple[list[int], str]] = []
    for index, day in enumerate(order):
        value = hours.get(day, "closed")
        if value == "closed":
            groups.append(([], "closed"))
        elif groups and groups[-1][1] == value and groups[-1][0]:
            groups[-1][0].append(index)
        else:
            groups.append(([index], value))
    parts = []
    for days, value in groups:
        if not days:
            continue
        first, last = locale.weekdays[days[0]], locale.weekdays[days[-1]]
        if style is not None:
            value = _hours_in_style(value, style, locale)
        parts.append(f"{first}-{last} {value}" if len(days) > 1 else f"{first} {value}")
    closed = [i for i, day in enumerate(order) if hours.get(day, "closed") == "closed"]
    if closed and closed_days and locale.closed:  # "and Saturdays?": the days it is shut
        runs: list[list[int]] = []
        for index in closed:
            if runs and runs[-1][-1] == index - 1:
                runs[-1].append(index)
            else:
                runs.append([index])
        for run in runs:
            first, last = locale.weekdays[run[0]], locale.weekdays[run[-1]]
            parts.append(f"{first}-{last} {locale.closed}" if len(run) > 1
                         else f"{first} {locale.closed}")
    return ", ".join(parts)


def _hours_in_style(value: str, style: DateStyle, locale: Locale) -> str:
    """"08:00-17:00" in the clinic's clock ("8:00 am-5:00 pm"); unreadable values as written."""
    span = opening_range(value)
    if span is None:
        return value
    return f"{format_time(span[0], style, locale)}-{format_time(span[1], style, locale)}"
