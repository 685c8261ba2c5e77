"""The one medicine-advice function: what the clinic's rule means for one drug and one site.

Why one function: the general answer ("do I stop my Eliquis?") and the dated plan ("last dose
before Sat 8:00 am") must never disagree about whether a drug is stopped, who decides, and which
KB entry says so. `advise` without a procedure start IS the general answer; with a start it adds
the dates. Both callers word the result from the same fields (actions/conversation/medicine.py).

Safety definitions (documented because they are safety decisions):
- A hold of X days means NO dose in the X * 24 real hours before the procedure START. The hold
  starts at `no_dose_from = start - hold` (UTC arithmetic, so a DST change in between neither
  adds nor removes an hour of protection). The plan states that limit as a clock time ("take
  your last dose before Sat 8:00 am"); a dose exactly at the limit is still allowed.
- No dose time is ever assumed. Only when the patient says when they usually take the drug
  (`dose_times`, wall-clock times in the clinic's zone) is the last allowed dose named: the
  latest of those times at or before the limit. A part of the day ("in the evening") is passed in
  as the LATEST time of that part, so the named dose can only be earlier than the real one.
- It is TOO_LATE when `now >= no_dose_from`: the patient may already have taken a dose inside
  the window, so they must call the clinic today.
- "The prescriber decides" never becomes a computed date: only `ask_by` (the day before the
  strictest hold of that drug at any risk class would start, 7 days without any hold).
- A rule with a longer hold for impaired kidneys (dabigatran) uses the longer hold unless the
  patient said their kidneys are fine (`renal_impaired=False`); `renal_unknown` says it was not
  asked, so the wording can say so.
- Restart is `start + restart_hours` of real time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum
from typing import Optional

from actions.kb.dto import Medication, MedicationRule, Provenance
from actions.plan.clock import is_before, require_aware, shift, wall_instant, zone

DEFAULT_ASK_WINDOW = dt.timedelta(days=7)
STOPPING_KINDS = frozenset({"hold", "too_late", "prescriber_decides"})


class AdviceKind(str, Enum):
    """What the assistant tells the patient about one drug."""

    HOLD = "hold"
    TOO_LATE = "too_late"
    PRESCRIBER_DECIDES = "prescriber_decides"
    USUALLY_CONTINUED = "usually_continued"
    CALL_CLINIC = "call_clinic"
    NOT_REVIEWED = "not_reviewed"  # recognised, but the clinic has not approved its advice


class Contact(str, Enum):
    """Whom the patient should talk to about the drug."""

    CLINIC = "clinic"
    PRESCRIBER = "prescriber"


@dataclass(frozen=True)
class DoseAdvice:
    """The advice for one drug; datetimes (only with a start) are aware, in the start's zone."""

    kind: AdviceKind
    drug: str
    risk_class: str
    contact: Contact
    rule: Optional[MedicationRule] = None
    provenance: Optional[Provenance] = None
    inr_check: bool = False
    hold: Optional[dt.timedelta] = None
    renal_unknown: bool = False  # the hold depends on the kidneys and nobody said how they are
    no_dose_from: Optional[dt.datetime] = None  # start - hold: no dose from this moment on
    last_dose: Optional[dt.datetime] = None  # the patient's last usual dose before the limit
    last_dose_in_past: bool = False
    restart_at: Optional[dt.datetime] = None
    ask_by: Optional[dt.date] = None
    ask_today: bool = False

    @property
    def involves_stopping(self) -> bool:
        """Whether the answer is about stopping: it must then name who decides."""
        return self.kind.value in STOPPING_KINDS


def advise(
    medication: Medication,
    risk_class: str,
    procedure_start: Optional[dt.datetime] = None,
    now: Optional[dt.datetime] = None,
    *,
    dose_times: tuple[dt.time, ...] = (),
    renal_impaired: Optional[bool] = None,
    default_ask_window: dt.timedelta = DEFAULT_ASK_WINDOW,
) -> DoseAdvice:
    """The advice for `medication` at this risk class; dated when the start is known."""
    if procedure_start is not None:
        require_aware(procedure_start, "procedure_start")
        if now is None:
            raise ValueError("now is required with a procedure start")
        require_aware(now, "now")
    drug, risk = medication.generic, risk_class
    if not medication.approved:
        return DoseAdvice(AdviceKind.NOT_REVIEWED, drug, risk, Contact.CLINIC)
    rule = medication.rule_for(risk_class)
    base = DoseAdvice(AdviceKind.CALL_CLINIC, drug, risk, Contact.CLINIC, rule=rule,
                      provenance=medication.provenance, inr_check=medication.inr_check)
    if rule is None or rule.action == "call_clinic":
        return base
    if rule.action == "continue":
        return replace(base, kind=AdviceKind.USUALLY_CONTINUED)
    if rule.action == "prescriber_decides":
        ask_by, ask_today = _ask(medication, procedure_start, now, default_ask_window)
        return replace(base, kind=AdviceKind.PRESCRIBER_DECIDES, contact=Contact.PRESCRIBER,
                       ask_by=ask_by, ask_today=ask_today)
    hold = rule.window_for(renal_impaired is not False) if rule.action == "hold" else None
    if hold is None:
        return base
    advice = replace(base, kind=AdviceKind.HOLD, contact=Contact.PRESCRIBER, hold=hold,
                     renal_unknown=rule.hold_days_renal_impaired is not None
                     and renal_impaired is None)
    if procedure_start is None or now is None:
        return advice
    return _dated_hold(advice, medication, procedure_start, now, dose_times, default_ask_window)


def _ask(
    medication: Medication,
    start: Optional[dt.datetime],
    now: Optional[dt.datetime],
    window: dt.timedelta,
) -> tuple[Optional[dt.date], bool]:
    if start is None or now is None:
        return None, False
    return ask_deadline(medication, start, now, window)


def _dated_hold(
    advice: DoseAdvice,
    medication: Medication,
    start: dt.datetime,
    now: dt.datetime,
    dose_times: tuple[dt.time, ...],
    window: dt.timedelta,
) -> DoseAdvice:
    """HOLD with the limit, the patient's last dose and the restart; or TOO_LATE."""
    assert advice.hold is not None and advice.rule is not None
    no_dose_from = shift(start, -advice.hold)
    ask_by, ask_today = ask_deadline(medication, start, now, window)
    if not is_before(now, no_dose_from):
        local_today = now.astimezone(zone(start)).date()
        return replace(advice, kind=AdviceKind.TOO_LATE, contact=Contact.CLINIC,
                       no_dose_from=no_dose_from, ask_by=local_today, ask_today=True)
    last_dose = last_scheduled_dose(no_dose_from, dose_times) if dose_times else None
    restart_hours = advice.rule.restart_hours
    restart_at = None if restart_hours is None else shift(start, dt.timedelta(hours=restart_hours))
    must_ask = medication.prescriber_must_approve
    return replace(
        advice, no_dose_from=no_dose_from, last_dose=last_dose,
        last_dose_in_past=last_dose is not None and is_before(last_dose, now),
        restart_at=restart_at, ask_by=ask_by if must_ask else None,
        ask_today=ask_today if must_ask else False,
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


def strictest_hold(medication: Medication) -> Optional[dt.timedelta]:
    """The longest hold window the drug has at any risk class (kidney variant included)."""
    windows = [w for rule in medication.rules.values() if (w := rule.window_for(True))]
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
