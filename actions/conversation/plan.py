"""The patient's own plan: fasting clock times, medicine dates and the "what's my plan?" list.

Why separate from actions/plan/: the calculators there are pure and Rasa-free; this module
reads the conversation's state, calls them, and words the results with approved KB templates
in the clinic's date style and the patient's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from actions.conversation.medicine import Dating, MedicineWording, site_name
from actions.conversation.turn import State
from actions.conversation.writer import Piece, Writer
from actions.kb.snapshot import KbSnapshot
from actions.plan.clock import clinic_zone
from actions.plan.fasting import arrival_time, compute_fasting_cutoffs
from actions.plan.formatting import format_time

TIME_ONLY = "@"  # appointment_candidate "@11:00": the time is known, the date not yet

CUTOFF_PLACEHOLDER_SUFFIX = "_cutoff"  # light_meal_cutoff, clear_liquids_cutoff, ...
MEAL_PLACEHOLDER = "light_meal_cutoff"  # a plan text that says until when food is allowed
ARRIVAL_PLAN_KEY = "plan.arrival_at"
# The dated gum answer says gum is fine until the clear-liquid cut-off: only true for clinics
# whose fasting policy says so (data/kb/fasting.yml gum_and_candy); others keep their own text.
GUM_PLAN_KEY, GUM_UNTIL_CLEAR_LIQUIDS = "plan.gum_until", "until_clear_liquids_cutoff"


def procedure_start(value: Optional[str]) -> Optional[dt.datetime]:
    """The procedure start stored in the slot (ISO 8601 with offset), or None."""
    if not value:
        return None
    try:
        start = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


def parse_clock(value: str) -> Optional[dt.time]:
    """"HH:MM" from the dose_times slot."""
    try:
        hour, minute = value.split(":")
        return dt.time(int(hour), int(minute))
    except (ValueError, TypeError):
        return None


def sedation_planned(kb: KbSnapshot, state: State) -> bool:
    """The patient's answer, else the clinic's default for the site (sedation if unknown)."""
    if state.sedation_planned is not None:
        return state.sedation_planned
    procedure = kb.procedure(state.procedure_site)
    return procedure.sedation_planned_by_default if procedure is not None else True


@dataclass(frozen=True)
class PlanContext:
    """What a dated answer needs: the appointment, the site, now."""

    start: dt.datetime
    site: str
    now: dt.datetime
    time_only: bool = False  # only the time is known: clock times are shown without dates

    def dating(self, state: State) -> Dating:
        """The medicine side of the plan, with the patient's own dose times."""
        times = {drug: tuple(t for t in (parse_clock(v) for v in values) if t is not None)
                 for drug, values in state.dose_times.items()}
        return Dating(self.start, self.now, times, state.renal_impaired)


def plan_context(state: State, now: dt.datetime) -> Optional[PlanContext]:
    """The appointment and site, once both are known."""
    start = procedure_start(state.procedure_start)
    if start is None or state.procedure_site is None:
        return None
    return PlanContext(start, state.procedure_site, now)


def appointment_context(state: State, now: dt.datetime, site: Optional[str]
                        ) -> Optional[PlanContext]:
    """The appointment (the site may still be unknown: fasting and arrival don't need it)."""
    start = procedure_start(state.procedure_start)
    if start is None and state.appointment_candidate and "T" in state.appointment_candidate:
        # A time given with a date still to confirm ("next Friday at 10"): the clock times
        # counted back from it do not depend on which Friday.
        start = procedure_start(state.appointment_candidate)
    time_only = False
    candidate = state.appointment_candidate or ""
    if start is None and candidate.startswith(TIME_ONLY):
        # Only the time ("la cita es a las 11:00"): clock times, on a nominal day.
        clock = parse_clock(candidate[len(TIME_ONLY):])
        if clock is not None:
            start = dt.datetime.combine(now.date() + dt.timedelta(days=7), clock,
                                        tzinfo=dt.timezone.utc)
            time_only = True
    if start is None:
        return None
    return PlanContext(start, site or state.procedure_site or "", now, time_only)


class PlanWording:
    """Fasting times and the checklist in the clinic's style and the patient's language."""

    def __init__(self, kb: KbSnapshot, writer: Writer) -> None:
        self.kb = kb
        self.writer = writer
        self.medicine = MedicineWording(kb, writer)

    def is_fasting(self, key: str) -> bool:
        """Whether a dated text is a fasting answer: the registry's plan text takes a fasting
        cut-off (data/kb/topics.yml `texts: plan:`), so a new one needs no list here."""
        names = self.kb.registry.texts.get("plan", {}).get(key, [])
        return any(name.endswith(CUTOFF_PLACEHOLDER_SUFFIX) for name in names)

    def is_meal(self, key: str) -> bool:
        """Whether a dated text answers when food is allowed (it takes the light-meal cut-off:
        the meal times and milk), not only what a drink or sweet counts as."""
        return MEAL_PLACEHOLDER in self.kb.registry.texts.get("plan", {}).get(key, [])

    def _today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(clinic_zone(self.kb.clinic.time_zone)).date()

    def _when(self, moment: dt.datetime, context: PlanContext) -> str:
        """A moment of the plan: date and time, or only the time when the date is not known
        ("08:30", "10:30 pm the day before")."""
        if not context.time_only:
            return self.medicine.when(moment, self._today(context.now))
        style, locale = self.medicine.style, self.writer.locale
        day_before = moment.date() < context.start.date()
        if moment.hour == 0 and moment.minute == 0 and style.clock == "12h":
            return self.writer.piece("locale.time_day_before",
                                     extra={"time": locale.midnight}).text
        key = "locale.time_day_before" if day_before else "locale.time_on_the_day"
        return self.writer.piece(key, extra={"time": format_time(moment.time(), style,
                                                                 locale)}).text

    def fasting(self, key: str, context: PlanContext, state: State) -> Optional[Piece]:
        """One fasting answer with clock times (or "no fast needed" without sedation); None
        when the dated text does not hold for this clinic's policy (the gum rule)."""
        if key == GUM_PLAN_KEY and self.kb.fasting.gum_and_candy != GUM_UNTIL_CLEAR_LIQUIDS:
            return None
        arrival = arrival_time(context.start, self.kb.clinic.arrival_lead_minutes)
        cutoffs = compute_fasting_cutoffs(arrival, self.kb.fasting,
                                          sedation_planned(self.kb, state))
        shown_arrival = self._when(arrival, context)
        if cutoffs is None:
            return self.writer.piece("plan.no_fasting", extra={"arrival": shown_arrival})
        values = {
            "arrival": shown_arrival,
            "light_meal_cutoff": self._when(cutoffs.light_meal.at, context),
            "fatty_meal_cutoff": self._when(cutoffs.fatty_meal.at, context),
            "clear_liquids_cutoff": self._when(cutoffs.clear_liquids.at, context),
        }
        return self.writer.piece(key, extra=values)

    def arrival(self, context: PlanContext) -> Piece:
        """When and where to arrive."""
        arrival = arrival_time(context.start, self.kb.clinic.arrival_lead_minutes)
        return self.writer.piece("plan.arrival_at", extra={
            "arrival": self._when(arrival, context),
            "procedure_start": self._when(context.start, context)})

    def checklist(self, context: PlanContext, state: State) -> list[Piece]:
        """The whole plan, one short line each (fits 3 SMS segments for a few medicines)."""
        lines = self.checklist_times(context, state)
        stopping = False
        dating = context.dating(state)
        for name in (*state.medications_taken, *state.medications_unknown):
            pieces, stops = self.medicine.dated(name, context.site, dating, checklist=True)
            lines.extend(pieces)
            stopping |= stops
        if stopping:
            lines.append(self.writer.piece("plan.checklist_confirm_prescriber"))
        lines.append(self.writer.piece("plan.checklist_driver"))
        lines.append(self.writer.piece("plan.checklist_bring"))
        return lines

    def checklist_times(self, context: PlanContext, state: State) -> list[Piece]:
        """The plan's first lines, which need only the appointment and the site: the day,
        when to arrive and the eating and drinking times (given while the medicines are
        still being asked about)."""
        today = self._today(context.now)
        arrival = arrival_time(context.start, self.kb.clinic.arrival_lead_minutes)
        lines = [
            self.writer.piece("plan.checklist_header", extra={
                "site_name": site_name(self.writer, context.site),
                "procedure_start": self.medicine.when(context.start, today)}),
            self.writer.piece("plan.checklist_arrival",
                              extra={"arrival": self.medicine.when(arrival, today)}),
        ]
        cutoffs = compute_fasting_cutoffs(arrival, self.kb.fasting,
                                          sedation_planned(self.kb, state))
        if cutoffs is None:
            lines.append(self.writer.piece("plan.checklist_no_fasting"))
        else:
            lines.append(self.writer.piece("plan.checklist_fasting", extra={
                "arrival": self.medicine.when(arrival, today),
                "light_meal_cutoff": self.medicine.when(cutoffs.light_meal.at, today),
                "fatty_meal_cutoff": self.medicine.when(cutoffs.fatty_meal.at, today),
                "clear_liquids_cutoff": self.medicine.when(cutoffs.clear_liquids.at, today),
            }))
        return lines
