"""When a patient takes the last dose of a drug before the procedure, and when to restart.

Why these definitions (documented because they are safety decisions):
- A hold of X days means NO dose in the X * 24 real hours before the procedure START. The hold
  starts at `no_dose_from = start - hold` (UTC arithmetic, so a DST change in between neither
  adds nor removes an hour of protection); a dose exactly at that moment is still allowed.
- Doses are assumed at usual wall-clock times (08:00 once daily; 08:00 and 20:00 twice daily;
  configurable through `DoseTimes`). The last allowed dose is the latest such time at or before
  `no_dose_from`, reading a wall time that DST repeats or skips as its latest possible instant.
- Weekly or irregular drugs get no invented dose day: only `no_dose_from` is given.
- It is TOO_LATE when `now >= no_dose_from`: the patient may already have taken a dose inside
  the window, so they must call the clinic today. A last allowed dose earlier than `now` is not
  too late (the dose was allowed; they simply take no more).
- Restart is `start + restart_hours` of real time, shown as wall date and part of the day.
- ask_by (prescriber decides, or a hold the prescriber must approve): the day before the
  strictest hold of that drug at any risk class would start (7 days when it has no hold), so
  the answer is in before the first dose that might have to be skipped. If that day has passed,
  ask today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from actions.kb.dto import Medication
from actions.plan.clock import (
    PartOfDay,
    is_before,
    part_of_day,
    require_aware,
    shift,
    wall_instant,
    zone,
)

DEFAULT_ASK_WINDOW = dt.timedelta(days=7)


class AdviceKind(str, Enum):
    """What the plan tells the patient about one drug."""

    HOLD = "hold"
    TOO_LATE = "too_late"
    PRESCRIBER_DECIDES = "prescriber_decides"
    USUALLY_CONTINUED = "usually_continued"
    CALL_CLINIC = "call_clinic"
    NOT_REVIEWED = "not_reviewed"


class Contact(str, Enum):
    """Whom the patient should talk to about the drug."""

    CLINIC = "clinic"
    PRESCRIBER = "prescriber"


@dataclass(frozen=True)
class DoseTimes:
    """Usual wall-clock dose times per schedule (local to the clinic)."""

    once_daily: tuple[dt.time, ...] = (dt.time(8),)
    twice_daily: tuple[dt.time, ...] = (dt.time(8), dt.time(20))

    def for_schedule(self, schedule: str) -> tuple[dt.time, ...] | None:
        """Dose times for a schedule, or None when there is no daily pattern to assume."""
        return {"once_daily": self.once_daily, "twice_daily": self.twice_daily}.get(schedule)


DEFAULT_DOSE_TIMES = DoseTimes()


@dataclass(frozen=True)
class DoseAdvice:
    """The plan for one drug; all datetimes are aware, in the procedure start's zone."""

    kind: AdviceKind
    drug: str
    risk_class: str
    contact: Contact | None = None
    hold: dt.timedelta | None = None
    no_dose_from: dt.datetime | None = None  # start - hold: no dose from this moment on
    last_dose: dt.datetime | None = None  # latest usual dose time allowed (daily drugs only)
    dose_part: PartOfDay | None = None  # part of the day of last_dose ("morning", "evening")
    last_dose_in_past: bool = False  # the last allowed dose was before `now`: take no more
    restart_at: dt.datetime | None = None
    restart_part: PartOfDay | None = None
    ask_by: dt.date | None = None  # local date by which to have the answer
    ask_today: bool = False  # ask_by has passed: ask as soon as possible, today


def advise(
    medication: Medication,
    risk_class: str,
    procedure_start: dt.datetime,
    now: dt.datetime,
    *,
    dose_times: DoseTimes = DEFAULT_DOSE_TIMES,
    default_ask_window: dt.timedelta = DEFAULT_ASK_WINDOW,
) -> DoseAdvice:
    """The advice for `medication` at this risk class, for a procedure at `procedure_start`."""
    require_aware(procedure_start, "procedure_start")
    require_aware(now, "now")
    drug, risk = medication.generic, risk_class
    if not medication.approved:
        return DoseAdvice(AdviceKind.NOT_REVIEWED, drug, risk, contact=Contact.CLINIC)
    rule = medication.rule_for(risk_class)
    if rule is None or rule.action == "call_clinic":
        return DoseAdvice(AdviceKind.CALL_CLINIC, drug, risk, contact=Contact.CLINIC)
    if rule.action == "continue":
        return DoseAdvice(AdviceKind.USUALLY_CONTINUED, drug, risk, contact=Contact.CLINIC)
    ask_by, ask_today = ask_deadline(medication, procedure_start, now, default_ask_window)
    if rule.action == "prescriber_decides":
        return DoseAdvice(
            AdviceKind.PRESCRIBER_DECIDES,
            drug,
            risk,
            contact=Contact.PRESCRIBER,
            ask_by=ask_by,
            ask_today=ask_today,
        )
    if rule.action == "hold" and rule.hold_window is not None:
        deadline = (ask_by, ask_today) if medication.prescriber_must_approve else None
        return _hold(
            medication,
            risk,
            rule.hold_window,
            rule.restart_hours,
            procedure_start,
            now,
            dose_times,
            deadline,
        )
    return DoseAdvice(AdviceKind.CALL_CLINIC, drug, risk, contact=Contact.CLINIC)


def _hold(
    medication: Medication,
    risk_class: str,
    hold: dt.timedelta,
    restart_hours: int | None,
    start: dt.datetime,
    now: dt.datetime,
    dose_times: DoseTimes,
    ask: tuple[dt.date, bool] | None,
) -> DoseAdvice:
    """HOLD with the last allowed dose and restart, or TOO_LATE once the window has begun."""
    no_dose_from = shift(start, -hold)
    if not is_before(now, no_dose_from):
        return DoseAdvice(
            AdviceKind.TOO_LATE,
            medication.generic,
            risk_class,
            contact=Contact.CLINIC,
            hold=hold,
            no_dose_from=no_dose_from,
            ask_by=now.astimezone(zone(start)).date(),
            ask_today=True,
        )
    times = dose_times.for_schedule(medication.schedule)
    last_dose = last_scheduled_dose(no_dose_from, times) if times else None
    restart_at = None if restart_hours is None else shift(start, dt.timedelta(hours=restart_hours))
    return DoseAdvice(
        AdviceKind.HOLD,
        medication.generic,
        risk_class,
        contact=Contact.PRESCRIBER if ask else None,
        hold=hold,
        no_dose_from=no_dose_from,
        last_dose=last_dose,
        dose_part=part_of_day(last_dose.time()) if last_dose else None,
        last_dose_in_past=last_dose is not None and is_before(last_dose, now),
        restart_at=restart_at,
        restart_part=part_of_day(restart_at.time()) if restart_at else None,
        ask_by=ask[0] if ask else None,
        ask_today=ask[1] if ask else False,
    )


def last_scheduled_dose(limit: dt.datetime, times: tuple[dt.time, ...]) -> dt.datetime:
    """The latest usual dose instant at or before `limit`, in limit's zone."""
    tz = zone(limit)
    day = limit.date()
    candidates = [
        wall_instant(day + dt.timedelta(days=offset), at, tz)
        for offset in range(-2, 2)
        for at in times
    ]
    allowed = [dose for dose in candidates if not is_before(limit, dose)]
    return max(allowed, key=lambda dose: dose.astimezone(dt.timezone.utc))


def strictest_hold(medication: Medication) -> dt.timedelta | None:
    """The longest hold window the drug has at any risk class, if it is held at all."""
    windows = [rule.hold_window for rule in medication.rules.values() if rule.hold_window]
    return max(windows) if windows else None


def ask_deadline(
    medication: Medication,
    procedure_start: dt.datetime,
    now: dt.datetime,
    default_window: dt.timedelta = DEFAULT_ASK_WINDOW,
) -> tuple[dt.date, bool]:
    """(local date to have the prescriber's answer by, whether that means today)."""
    window = strictest_hold(medication) or default_window
    deadline = shift(procedure_start, -window).date() - dt.timedelta(days=1)
    today = now.astimezone(zone(procedure_start)).date()
    if deadline <= today:
        return today, True
    return deadline, False
