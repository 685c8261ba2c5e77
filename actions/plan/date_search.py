"""The only module that talks to dateparser: finds date phrases and returns plain typed hits.

Why an adapter: dateparser has no type information for mypy and a settings dictionary that is
easy to get subtly wrong; keeping both here means the rest of the plan code is typed and the
settings are chosen in one place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from dateparser import DateDataParser, PartsOfDay
from dateparser.search import search_dates


@dataclass(frozen=True)
class Hit:
    """One date phrase found in the text, read in the clinic's wall-clock time (naive)."""

    text: str
    start: int
    end: int
    moment: dt.datetime  # naive wall time in the clinic's zone
    parts: tuple[str, ...]  # which of "year", "month", "day", "time" the text itself gave
    period: str  # dateparser's granularity: "day", "week", "month", "time", "part_of_day", ...
    part_of_day: str | None  # "morning", "afternoon", ... when the text named one


def _settings(
    local_now: dt.datetime, time_zone: str, date_order: str, parts_of_day: Mapping[str, dt.time]
) -> dict[str, Any]:
    return {
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": time_zone,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "DATE_ORDER": date_order,
        "PREFER_LOCALE_DATE_ORDER": False,
        # Naive wall time: dateparser reads a naive base in TIMEZONE.
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "RETURN_TIME_AS_PERIOD": True,
        "PARTS_OF_DAY": PartsOfDay(**dict(parts_of_day)),
    }


def _clinic_wall_time(moment: dt.datetime, clinic_zone: ZoneInfo) -> dt.datetime:
    """Naive wall time in the clinic's zone (a phrase like "8am PST" is converted)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(clinic_zone)
    return moment.replace(tzinfo=None)


def find_dates(
    text: str,
    *,
    local_now: dt.datetime,
    time_zone: str,
    date_order: str,
    languages: Sequence[str],
    parts_of_day: Mapping[str, dt.time],
) -> list[Hit]:
    """Every date phrase dateparser finds in `text`, in order, with the parts each one gave."""
    settings = _settings(local_now, time_zone, date_order, parts_of_day)
    found = search_dates(text, languages=list(languages), settings=settings, add_period=True)
    parser = DateDataParser(languages=list(languages), settings=settings)
    clinic_zone = ZoneInfo(time_zone)
    hits: list[Hit] = []
    cursor = 0
    for matched, moment, period in found or []:
        start, end = _locate(text, matched, cursor)
        cursor = end
        data = parser.get_date_data(matched)
        if data.date_obj is not None:
            moment = data.date_obj
            parts = tuple(data.parts)
            period = data.period
        else:
            parts = ("month", "day")
        part = data.part_of_day.value if data.part_of_day is not None else None
        hits.append(
            Hit(
                text=text[start:end],
                start=start,
                end=end,
                moment=_clinic_wall_time(moment, clinic_zone),
                parts=parts,
                period=str(period or "day"),
                part_of_day=part,
            )
        )
    return hits


def _locate(text: str, matched: str, cursor: int) -> tuple[int, int]:
    """Where dateparser's phrase is in `text`.

    Why not `str.find`: dateparser collapses runs of whitespace in what it returns ("5 de
    diciembre" for "5 de   diciembre"), and the parser blanks clock times out with spaces.
    """
    tokens = matched.split()
    if not tokens:
        return cursor, cursor
    pattern = re.compile(r"\s*".join(re.escape(token) for token in tokens), re.IGNORECASE)
    found = pattern.search(text, cursor) or pattern.search(text)
    if found is None:
        start = max(text.find(matched), 0)
        return start, start + len(matched)
    return found.span()
