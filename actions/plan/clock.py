"""Time-zone arithmetic shared by the plan calculators.

Why one module: every interval in a plan is *elapsed* time (a 72-hour hold is 72 real hours, also
across a daylight-saving change), while everything shown to the patient is the clinic's *wall*
time. Doing the arithmetic in UTC and converting at the end keeps those two rules together.
Python's own `aware + timedelta` and `aware - aware` (same zone) use wall-clock time, so callers
should use `shift` and `elapsed` here instead.
"""

from __future__ import annotations

import calendar
import datetime as dt
from enum import Enum
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc


class PartOfDay(str, Enum):
    """Coarse time of day patients think in ("your morning dose")."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    NIGHT = "night"


def require_aware(value: dt.datetime, name: str) -> None:
    """Reject naive datetimes: a naive value silently means "the server's zone"."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware, got {value!r}")


def zone(value: dt.datetime) -> dt.tzinfo:
    """The zone of an aware datetime (for converting results back to it)."""
    require_aware(value, "value")
    assert value.tzinfo is not None
    return value.tzinfo


def shift(moment: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """`moment + delta` in elapsed time, returned in moment's zone (its wall clock may jump)."""
    return (moment.astimezone(UTC) + delta).astimezone(zone(moment))


def elapsed(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Real time from `start` to `end`, whatever their zones."""
    require_aware(start, "start")
    require_aware(end, "end")
    return end.astimezone(UTC) - start.astimezone(UTC)


def is_before(first: dt.datetime, second: dt.datetime) -> bool:
    """`first < second` as instants (plain `<` ignores `fold` within one zone)."""
    return elapsed(first, second) > dt.timedelta(0)


def wall_instant(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The latest instant the wall time `day at` can mean in `tz`, expressed in `tz`.

    Why the latest: a wall time repeated by a DST fall-back, or skipped by a spring-forward, is
    read the way that puts it closest to the procedure, so hold checks never err on the early side.
    """
    readings = [dt.datetime.combine(day, at, tzinfo=tz).replace(fold=fold) for fold in (0, 1)]
    latest = max(readings, key=lambda reading: reading.astimezone(UTC))
    return latest.astimezone(UTC).astimezone(tz)


def part_of_day(at: dt.time) -> PartOfDay:
    """Which part of the day a wall-clock time falls in (05-12 morning, 12-17, 17-21, night)."""
    if 5 <= at.hour < 12:
        return PartOfDay.MORNING
    if 12 <= at.hour < 17:
        return PartOfDay.AFTERNOON
    if 17 <= at.hour < 21:
        return PartOfDay.EVENING
    return PartOfDay.NIGHT


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole calendar months, clamped to the last day (31 Jan + 1 = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def clinic_zone(time_zone: str) -> ZoneInfo:
    """The clinic's zone; raises ValueError (not a bare KeyError) for an unknown name."""
    try:
        return ZoneInfo(time_zone)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown time zone {time_zone!r}") from exc


def opening_range(value: object) -> tuple[dt.time, dt.time] | None:
    """A clinic's hours for one weekday ("08:00-17:00") as (opens, closes); None for "closed"
    or anything unreadable. The one reader of opening hours for dates, wording and facts."""
    if not isinstance(value, str) or "-" not in value:
        return None
    opens, closes = value.split("-", 1)
    try:
        return dt.time.fromisoformat(opens.strip()), dt.time.fromisoformat(closes.strip())
    except ValueError:
        return None
