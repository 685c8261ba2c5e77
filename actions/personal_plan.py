"""Turn the patient's appointment, site and medicines into their own dates, in the KB's words.

Why separate from `actions/plan/`: the calculator there is pure and Rasa-free; this module only
reads the KB, calls it, formats the results in the clinic's conventions and fills approved
answer templates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from actions import answers
from actions.answers import KbContext, Utterance, echo_safe
from actions.base import Turn
from actions.kb import dto, repository
from actions.plan.fasting import arrival_time, compute_fasting_cutoffs
from actions.plan.formatting import format_date, format_datetime, format_time
from actions.plan.medication_schedule import AdviceKind, DoseAdvice, advise

STOPPING_KINDS = {AdviceKind.HOLD, AdviceKind.TOO_LATE, AdviceKind.PRESCRIBER_DECIDES}


def now_utc() -> dt.datetime:
    """The current time (patched in tests)."""
    return dt.datetime.now(dt.timezone.utc)


def procedure_start_from(slot_value: Any) -> Optional[dt.datetime]:
    """The procedure start stored in the slot (ISO 8601 with offset), or None."""
    if not isinstance(slot_value, str):
        return None
    try:
        start = dt.datetime.fromisoformat(slot_value)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


@dataclass(frozen=True)
class PlanFormatter:
    """Dates and times in the clinic's zone and date order."""

    clinic: dto.ClinicProfile
    today: dt.date

    def when(self, moment: dt.datetime) -> str:
        """Weekday, date and clock time: "Thu, Dec 3, 8:00 am"."""
        return format_datetime(moment, self.clinic.date_order, time_zone=self.clinic.time_zone,
                               today=self.today)

    def near(self, moment: dt.datetime, reference: dt.datetime) -> str:
        """Compact form for times within a day or two of `reference`: "Tue 11:30 pm"."""
        local = moment.astimezone(ZoneInfo(self.clinic.time_zone))
        if abs((local.date() - reference.astimezone(local.tzinfo).date()).days) > 2:
            return self.when(moment)
        return f"{local.strftime('%a')} {format_time(local.time(), self.clinic.date_order)}"

    def day(self, value: dt.date) -> str:
        """Weekday and date: "Thu, Dec 3"."""
        return format_date(value, self.clinic.date_order, today=self.today)


def formatter(context: KbContext, now: dt.datetime) -> PlanFormatter:
    """A formatter for the clinic, with "today" in the clinic's zone."""
    local_today = now.astimezone(ZoneInfo(context.clinic.time_zone)).date()
    return PlanFormatter(context.clinic, local_today)


def _dose_values(advice: DoseAdvice, fmt: PlanFormatter, site_name: str) -> dict[str, object]:
    values: dict[str, object] = {"drug": advice.drug, "site_name": site_name}
    if advice.last_dose is not None:
        values["last_dose"] = fmt.day(advice.last_dose.date())
        values["dose_time"] = advice.dose_part.value if advice.dose_part else fmt.when(
            advice.last_dose)
    elif advice.no_dose_from is not None:
        values["last_dose"] = fmt.when(advice.no_dose_from)
        values["dose_time"] = "-"
    if advice.restart_at is not None:
        part = f" ({advice.restart_part.value})" if advice.restart_part else ""
        values["restart"] = fmt.day(advice.restart_at.date()) + part
    if advice.ask_by is not None:
        values["ask_by"] = fmt.day(max(advice.ask_by, fmt.today))
    return values


_PLAN_KEYS = {
    AdviceKind.HOLD: ("plan.last_dose", "plan.checklist_dose"),
    AdviceKind.TOO_LATE: ("plan.too_late", "plan.checklist_too_late"),
    AdviceKind.PRESCRIBER_DECIDES: ("plan.prescriber_decides", "plan.checklist_prescriber"),
    AdviceKind.USUALLY_CONTINUED: ("plan.usually_continued", "plan.checklist_continue"),
    AdviceKind.CALL_CLINIC: ("blood_thinners.rule_call_clinic", "plan.checklist_call_clinic"),
    AdviceKind.NOT_REVIEWED: ("blood_thinners.not_reviewed", "plan.checklist_call_clinic"),
}


def _advice_kind(advice: DoseAdvice) -> AdviceKind:
    """A hold whose last allowed dose is already past is handled like "too late": call today."""
    if advice.kind is AdviceKind.HOLD and (advice.last_dose_in_past or (
            advice.last_dose is None and advice.no_dose_from is None)):
        return AdviceKind.TOO_LATE
    return advice.kind


@dataclass(frozen=True)
class PlanInputs:
    """Everything a personal plan needs, read once."""

    context: KbContext
    procedure: dto.ProcedureVariant
    start: dt.datetime
    now: dt.datetime


def medication_plan(
    session: Session, inputs: PlanInputs, names: list[str], checklist: bool = False
) -> tuple[list[Utterance], bool]:
    """One line per drug (full sentence or checklist line); True if any involves stopping."""
    fmt = formatter(inputs.context, inputs.now)
    site = inputs.procedure.site
    messages: list[Utterance] = []
    stopping = False
    for name in names:
        medication = repository.find_medication(session, name)
        if medication is None:
            key = "plan.checklist_call_clinic" if checklist else "blood_thinners.not_in_list"
            values: dict[str, object] = {"drug_text": echo_safe(name), "drug": echo_safe(name)}
            messages.append(answers.answer(session, inputs.context, key, site, values))
            continue
        advice = advise(medication, inputs.procedure.risk_class, inputs.start, inputs.now)
        kind = _advice_kind(advice)
        stopping |= kind in STOPPING_KINDS
        values = _dose_values(advice, fmt, inputs.procedure.name)
        values["brands"] = ", ".join(medication.brands) or medication.generic
        key = _PLAN_KEYS[kind][1 if checklist else 0]
        said = answers.answer(session, inputs.context, key, site, values)
        if medication.provenance is not None:
            said = Utterance(text=said.text,
                             kb_entries=(*said.kb_entries, medication.provenance.entry_id),
                             sources=(*said.sources, medication.provenance.source))
        messages.append(said)
    return messages, stopping


def fasting_plan(
    session: Session, inputs: PlanInputs, sedation_planned: bool, checklist: bool = False
) -> Utterance:
    """The patient's own fasting clock times, or "no fast needed" without sedation."""
    context = inputs.context
    fmt = formatter(context, inputs.now)
    arrival = arrival_time(inputs.start, context.clinic.arrival_lead_minutes)
    cutoffs = compute_fasting_cutoffs(arrival, context.fasting, sedation_planned)
    site = inputs.procedure.site
    if cutoffs is None:
        key = "plan.checklist_no_fasting" if checklist else "plan.no_fasting"
        return answers.answer(session, context, key, site, {"arrival": fmt.when(arrival)})
    def show(moment: dt.datetime) -> str:
        return fmt.near(moment, arrival) if checklist else fmt.when(moment)

    values = {
        "arrival": fmt.when(arrival),
        "light_meal_cutoff": show(cutoffs.light_meal.at),
        "fatty_meal_cutoff": show(cutoffs.fatty_meal.at),
        "clear_liquids_cutoff": show(cutoffs.clear_liquids.at),
    }
    key = "plan.checklist_fasting" if checklist else "plan.fasting_cutoffs"
    return answers.answer(session, context, key, site, values)


def checklist(
    session: Session, inputs: PlanInputs, names: list[str], sedation_planned: bool
) -> Utterance:
    """The whole plan as one short message (fits 3 SMS segments for a few medicines)."""
    context = inputs.context
    fmt = formatter(context, inputs.now)
    site = inputs.procedure.site
    arrival = arrival_time(inputs.start, context.clinic.arrival_lead_minutes)
    drug_lines, stopping = medication_plan(session, inputs, names, checklist=True)
    reminder = ["plan.checklist_confirm_prescriber"] if stopping else []
    lines = [
        answers.answer(session, context, "plan.checklist_header", site,
                       {"site_name": inputs.procedure.site,
                        "procedure_start": fmt.when(inputs.start)}),
        answers.answer(session, context, "plan.checklist_arrival", site,
                       {"arrival": fmt.near(arrival, inputs.start)}),
        fasting_plan(session, inputs, sedation_planned, checklist=True),
        *drug_lines,
        *(answers.answer(session, context, key, site) for key in reminder),
        answers.answer(session, context, "plan.checklist_driver", site),
        answers.answer(session, context, "plan.checklist_bring", site),
    ]
    return Utterance(
        text="\n".join(line.text or "" for line in lines),
        kb_entries=tuple(e for line in lines for e in line.kb_entries),
        sources=tuple(dict.fromkeys(s for line in lines for s in line.sources)),
    )


def sedation_planned(session: Session, turn: Turn) -> bool:
    """The patient's answer, else the clinic's default for the site (sedation if unknown)."""
    said = turn.slot("sedation_planned")
    if isinstance(said, bool):
        return said
    if turn.site:
        procedure = repository.get_procedure(session, turn.site)
        if procedure is not None:
            return procedure.sedation_planned_by_default
    return True


def plan_inputs(session: Session, turn: Turn) -> Optional[PlanInputs]:
    """The inputs for a personal plan, or None while the date or site is unknown."""
    start = procedure_start_from(turn.slot("procedure_start"))
    if start is None or turn.site is None:
        return None
    procedure = repository.get_procedure(session, turn.site)
    if procedure is None:
        return None
    return PlanInputs(answers.load_context(session), procedure, start, now_utc())
