"""The facts a message gives (medicines, site, appointment, dose times) and how they change
what the conversation knows: a correction replaces, an addition adds, a question about the
other site is answered without changing the patient's own.

Why one place: "sorry, it's Xarelto not Eliquis" must change the medicine list, the plan and
the checklist at once; keeping every fact in the slots and updating them only here means there
is never a second, stale copy.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Mapping, Optional

from actions.conversation.cues import Cues
from actions.conversation.plan import TIME_ONLY
from actions.conversation.turn import State, Turn
from actions.kb.snapshot import KbSnapshot
from actions.plan.clock import opening_range
from actions.plan.dates import (
    DEFAULT_PART_OF_DAY_TIMES,
    AppointmentIssue,
    ParsedAppointment,
    afternoon_if_only_then_open,
    parse_appointment,
)
from actions.plan.time_text import dose_time_words, find_clock_times

# A negation right before a mention: "not Eliquis", "no es el cuello", "instead of the neck",
# "sin sintrom ni nada de eso".
_NEGATED_BEFORE = re.compile(
    r"(?:\bnot|\bno|\bisn'?t|\binstead of|\brather than|\bno es|\bni|\bnot my|\bnot the|"
    r"\bno el|\bno la|\bno mi|\bnot on my|\bnot in my|\ben vez de|\bexcept|\bsin|\bwithout|"
    r"\bnada de|\bningun|\bningún)\s+"
    r"(?:(?:en|in|on|at|for|para|de|del)\s+)?(?:(?:my|his|her|their|your|the|a|an|el|la|mi|su|los|las|un|una)\s+)?$",
    re.IGNORECASE,
)
# A bare "no" right after a mention, ending its list item: "toma sintrom, adiro no, y pastillas",
# "aspirin no, warfarin yes" (not "el sintrom no lo he dejado", which says nothing of taking it).
_NEGATED_AFTER = re.compile(
    r"\s+(?:no|not|tampoco)\s*(?:[,.;!)]|$|\by\b|\band\b|\bni\b|\bbut\b|\bpero\b)", re.IGNORECASE)
DAYTIME = (dt.time(6, 0), dt.time(21, 0))
_DATEISH = re.compile(
    r"\d|\b(today|tomorrow|tmrw|tonight|next|this|week|weeks|month|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|jan|feb|mar|"
    r"apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|"
    r"september|october|november|december|morning|afternoon|noon|midday|half|quarter|"
    r"hoy|mañana|manana|pasado|lunes|martes|miercoles|miércoles|jueves|viernes|sabado|"
    r"sábado|domingo|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|"
    r"setiembre|octubre|noviembre|diciembre|semana|mes|tarde|mediodia|mediodía|media|cuarto|"
    r"once|doce|nueve|diez|ocho|siete|seis|cinco|cuatro|tres|dos|una|primera|one|two|three|four|"
    r"five|six|seven|eight|nine|ten|eleven|twelve|o'?clock|fortnight|first thing)\b",
    re.IGNORECASE,
)


_OFF_WINDOW = 24  # characters before a drug name read for "switched from", "came off"

# The words before a drug name that may say whose drug it is, up to the sentence's start.
_WHOSE_WINDOW = 40
_SENTENCE_START = re.compile(r"[.?!;]")


def _someone_elses(text: str, start: int, cues: Cues) -> bool:
    """"my friend on coumadin had to", "like my dad had with warfarin", "como mi vecina con el
    sintrom": a drug someone else takes, named for comparison, is not the patient's."""
    before = text[max(0, start - _WHOSE_WINDOW):start]
    ends = list(_SENTENCE_START.finditer(before))
    if ends:
        before = before[ends[-1].end():]
    return cues.someone_elses(before)


def _negated(text: str, start: int, end: int | None = None) -> bool:
    if _NEGATED_BEFORE.search(text[max(0, start - 24):start]) is not None:
        return True
    return end is not None and _NEGATED_AFTER.match(text, end) is not None


def _taken_off(text: str, start: int, cues: Cues) -> bool:
    """"switched from the Eliquis", "back when I was on warfarin": no longer taken, said or
    asked; "(off warfarin)", "I came off the Xarelto": no longer taken when told, not when
    asked ("how long do I come off it?")."""
    before = text[max(0, start - _OFF_WINDOW):start]
    if cues.ends_with(before, "drug_no_longer_taken"):
        return True
    if not cues.ends_with(before, "drug_off_said"):
        return False
    for a, b in cues.question_parts(text):
        if a <= start < b:
            return not cues.is_question(text, a, b)
    return True


@dataclass(frozen=True)
class Facts:
    """What this message says, before it is merged into the conversation's state."""

    medications: tuple[str, ...] = ()  # catalogue generics named (not negated), in order
    negated_medications: tuple[str, ...] = ()  # "not Eliquis"
    sites: tuple[str, ...] = ()  # sites named, not negated
    negated_sites: tuple[str, ...] = ()
    appointment: Optional[ParsedAppointment] = None
    correction: bool = False
    stopped_taking: bool = False
    says_none: bool = False
    driver_named: bool = False  # "my son is driving me": the patient has a driver
    kidneys_impaired: Optional[bool] = None  # "tengo los riñones mal" / "kidneys are fine"
    other_site: bool = False  # "what if it were the neck?": a site asked about, not stated
    text_for_hours: str = ""  # the message with negated numbers removed ("11 not 10" -> "11")

    @property
    def site(self) -> Optional[str]:
        """The one site this message names (None: none, or both without a negation)."""
        return self.sites[0] if len(self.sites) == 1 else None


def read_facts(kb: KbSnapshot, turn: Turn, cues: Cues, now: dt.datetime) -> Facts:
    """Medicines, site, appointment and the kind of message (correction, "none", stopped)."""
    text = turn.text
    meds: list[str] = []
    negated_meds: list[str] = []
    for mention in turn.mentions("medication"):
        if _someone_elses(text, mention.start, cues):
            continue
        off = _negated(text, mention.start, mention.end) or _taken_off(text, mention.start, cues)
        target = negated_meds if off else meds
        if mention.value not in target:
            target.append(mention.value)
    sites: list[str] = []
    negated_sites: list[str] = []
    spans: list[tuple[int, int]] = []  # where each site in `sites` was named
    for mention in turn.mentions("procedure_site"):
        if mention.value not in ("lumbar", "cervical"):
            continue
        if cues.mentions_kidneys(text[mention.start:mention.end]):
            continue  # "los riñones" read as the lower back: it is about the kidneys
        off = _negated(text, mention.start, mention.end) or \
            cues.site_in_past(text, mention.start, mention.end)  # "the neck was last time"
        target = negated_sites if off else sites
        if mention.value not in target:
            target.append(mention.value)
            if not off:
                spans.append((mention.start, mention.end))
    if len(sites) == 2 and cues.corrects(text[spans[0][1]:spans[1][0]]):
        # "it's my lower back. oh wait no, sorry, it's actually my neck": the second site
        # replaces the first
        negated_sites.append(sites.pop(0))
    appointment = None
    if text and not text.lstrip().startswith("/") and _DATEISH.search(text):
        appointment = read_appointment(kb, text, turn.language, now)
    return Facts(
        medications=tuple(meds),
        negated_medications=tuple(m for m in negated_meds if m not in meds),
        sites=tuple(sites),
        negated_sites=tuple(s for s in negated_sites if s not in sites),
        appointment=appointment,
        correction=cues.corrects(text) or bool(negated_meds) or bool(negated_sites),
        # "I stopped the fish oil" removes it; "how long do I come off it?" asks, it does not tell
        stopped_taking=cues.stopped_taking(text) and not cues.is_question(text, 0, len(text)),
        says_none=cues.says_none(text),
        driver_named=_names_driver(turn, cues),
        kidneys_impaired=_kidneys(text, cues),
        other_site=cues.asks_other_site(text),
        text_for_hours=re.sub(r"\b(?:not|no|instead of|rather than)\s+\d{1,2}\b", " ", text,
                              flags=re.IGNORECASE),
    )


def _stated_parts(text: str, cues: Cues) -> list[str]:
    """The parts of a message that tell rather than ask (no "?", no question word first)."""
    return [text[a:b] for a, b in cues.question_parts(text) if not cues.is_question(text, a, b)]


def _names_driver(turn: Turn, cues: Cues) -> bool:
    """"my son is driving me", "lo llevo yo" (a carer who drives), not "nobody can drive me"."""
    for part in _stated_parts(turn.text, cues):
        if not cues.names_driver(part):
            continue
        try:
            driver = cues.registry.topic("driver")
        except KeyError:
            return True
        answer = cues.answer_for(driver, part)
        return answer is None or answer.key != "driver.no_driver"
    return False


def _kidneys(text: str, cues: Cues) -> Optional[bool]:
    """What a statement says about the kidneys: fine (False), not fine (True), nothing (None)."""
    for part in _stated_parts(text, cues):
        if cues.mentions_kidneys(part):
            return not cues.kidneys_fine(part)
    return None


def read_appointment(kb: KbSnapshot, text: str, language: str,
                     now: dt.datetime) -> ParsedAppointment:
    """The appointment in the patient's words, read in the clinic's zone and date order."""
    clinic = kb.clinic
    languages = tuple(dict.fromkeys((language, "en")))
    return parse_appointment(text, now=now, time_zone=clinic.time_zone,
                             date_order=clinic.date_order, opening_hours=clinic.opening_hours,
                             languages=languages,
                             part_of_day_times=_part_of_day_times(clinic.opening_hours))


def _part_of_day_times(opening_hours: Mapping[str, str]) -> Mapping[str, dt.time]:
    """"First thing" is when the clinic opens (not 6 am, when it is shut), to be confirmed."""
    opens = [span[0] for span in map(opening_range, opening_hours.values()) if span is not None]
    if not opens:
        return DEFAULT_PART_OF_DAY_TIMES
    return {**DEFAULT_PART_OF_DAY_TIMES, "early_morning": min(opens)}


@dataclass
class Merge:
    """The state after a message's facts, and what changed (for the reply)."""

    state: State
    medications_changed: bool = False
    site_changed: bool = False
    hypothetical_site: Optional[str] = None  # "what about the neck one?" with a site on file
    appointment_set: bool = False
    appointment_issue: Optional[str] = None  # why a reading needs confirming
    appointment_shown: Optional[dt.datetime] = None
    notes: list[str] = field(default_factory=list)


def merge_medications(state: State, facts: Facts) -> tuple[State, bool]:
    """Corrections replace, "also" adds, "I stopped the fish oil" removes."""
    taken = list(state.medications_taken)
    named = list(facts.medications)
    if not named and not facts.negated_medications:
        if facts.says_none and not taken:
            return state.update(medications_answered=True), True
        return state, False
    if facts.stopped_taking and named and not facts.negated_medications:
        taken = [m for m in taken if m not in named]
        return state.update(medications_taken=tuple(taken), last_medications=()), True
    taken = [m for m in taken if m not in facts.negated_medications]
    if facts.correction and named and not facts.negated_medications:
        # "sorry, it's Xarelto": the drug last talked about is replaced, not kept.
        replaced = set(state.last_medications) if len(state.last_medications) == len(named) \
            else set()
        taken = [m for m in taken if m not in replaced]
    for name in named:
        if name not in taken:
            taken.append(name)
    changed = tuple(taken) != state.medications_taken
    last = tuple(m for m in state.last_medications if m in taken)
    if facts.correction and named:
        last = tuple(named)  # "sorry, I meant Xarelto": the drug being talked about now
    pending = state.pending
    if pending is not None and pending.medications and facts.correction and named:
        pending = replace(pending, medications=tuple(named))
    return state.update(medications_taken=tuple(taken), medications_answered=True,
                        last_medications=last, pending=pending), changed


def merge_site(state: State, facts: Facts, turn: Turn, answering_site: bool) -> Merge:
    """A new or corrected site is kept; a question about the other site is hypothetical."""
    site = facts.site
    if site is None and len(facts.sites) == 0 and facts.negated_sites and state.procedure_site:
        other = "cervical" if facts.negated_sites[0] == "lumbar" else "lumbar"
        site = other  # "not my neck" alone: the other one
    if site is None:
        return Merge(state)
    if state.procedure_site in (None, site):
        return Merge(state.update(procedure_site=site), site_changed=state.procedure_site != site)
    if facts.other_site and not (answering_site or facts.negated_sites or facts.correction):
        return Merge(state, hypothetical_site=site)  # "¿y si fuera en el cuello?"
    if facts.correction or answering_site or turn.intent == "inform":
        return Merge(state.update(procedure_site=site), site_changed=True)
    return Merge(state, hypothetical_site=site)


_CONFIRM_ISSUES = (AppointmentIssue.PAST, AppointmentIssue.TOO_FAR, AppointmentIssue.AMBIGUOUS,
                   AppointmentIssue.CLINIC_CLOSED, AppointmentIssue.APPROXIMATE_TIME)




def candidate_time(state: State) -> Optional[dt.time]:
    """The appointment time when only the time is known yet."""
    value = state.appointment_candidate or ""
    if not value.startswith(TIME_ONLY):
        return None
    try:
        return dt.time.fromisoformat(value[len(TIME_ONLY):])
    except ValueError:
        return None


def _daytime(time: dt.time) -> bool:
    """An hour a booking said outright may be ("my slot is 7.45"), even before the clinic's
    usual opening: the patient's letter is the authority, the clinic confirms."""
    return DAYTIME[0] <= time < DAYTIME[1]


def _clinic_hour(kb: KbSnapshot, time: dt.time) -> bool:
    """A time the clinic is open on some day ("from midnight" is a fasting limit, not the
    appointment)."""
    spans = (opening_range(hours) for hours in kb.clinic.opening_hours.values())
    return any(span is not None and span[0] <= time < span[1] for span in spans)


def _next_week_doubt(parsed: ParsedAppointment) -> bool:
    """The only doubt is which week "next Friday" means: answered with the date stated (the
    patient can correct it), not asked about. An early hour without am/pm is still asked."""
    if parsed.date is None or parsed.alternative is None:
        return False
    if parsed.alternative - parsed.date != dt.timedelta(days=7):
        return False
    return parsed.time is None or not 1 <= parsed.time.hour <= 6


def merge_appointment(kb: KbSnapshot, state: State, facts: Facts, *, asked: bool,
                      telling: bool = True, about_booking: bool = False) -> Merge:
    """A date and time become the appointment; doubtful readings wait for "yes"; a time alone
    completes a date already given, or is kept for clock times until the date is known; a past
    or birth date outside a question is ignored, and so is a day or a vague time outside a
    question when the message is not about the appointment (`telling` False: "a qué hora
    abrís el viernes?")."""
    parsed = facts.appointment
    merge = Merge(state)
    if parsed is None:
        return merge
    if any(issue.value == "not_appointment" for issue in parsed.issues):
        merge.notes.append("not_appointment")
        if any(issue.value == "birth_date" for issue in parsed.issues):
            merge.notes.append("birth_date")  # "had the RF this morning" is no birth date
        return merge
    from actions.conversation.plan import procedure_start

    tz = kb.clinic.time_zone
    current = procedure_start(state.procedure_start)
    candidate = procedure_start(state.appointment_candidate) if state.appointment_candidate \
        and "T" in state.appointment_candidate else None
    if parsed.date is None:
        if parsed.time is None and (facts.correction or asked):
            parsed = _with_bare_hour(parsed, facts, current or candidate)
        if parsed.time is None:
            return merge
        if current is not None and parsed.time == (current - dt.timedelta(
                minutes=kb.clinic.arrival_lead_minutes)).timetz().replace(tzinfo=None):
            merge.notes.append("arrival_time_named")  # "so I have to actually be there at 9?"
            return merge
        base = candidate or (current if (asked or facts.correction) else None)
        pending_day = _candidate_day(state)
        if base is None and pending_day is None:
            exact = AppointmentIssue.APPROXIMATE_TIME not in parsed.issues
            clock = parsed.time
            if not _clinic_hour(kb, clock) and 1 <= clock.hour <= 6 and _clinic_hour(
                    kb, clock.replace(hour=clock.hour + 12)):
                clock = clock.replace(hour=clock.hour + 12)  # "a la una": 13:00
            # "oh hang on, the letter says 8.15": a correction replaces a time-only booking
            replaces = facts.correction and candidate_time(state) is not None
            if current is None and exact and (about_booking or asked or replaces) and (
                    _clinic_hour(kb, clock) or (about_booking and _daytime(clock))):
                merge.state = state.update(
                    appointment_candidate=f"{TIME_ONLY}{clock.strftime('%H:%M')}")
                merge.notes.append("time_only")
            return merge
        day = base.date() if base is not None else pending_day
        assert day is not None
        said = parsed.time
        issues = tuple(i for i in parsed.issues if i is not AppointmentIssue.NO_DATE)
        if AppointmentIssue.AMBIGUOUS in issues:
            later = afternoon_if_only_then_open(said, kb.clinic.opening_hours, day)
            if later != said:  # "a la una" answering "what time?": 13:00, nothing to ask
                said = later
                issues = tuple(i for i in issues if i is not AppointmentIssue.AMBIGUOUS)
        reading = ParsedAppointment(day, said, issues)
        start = reading.start(tz)
        if start is None:
            return merge
        if AppointmentIssue.AMBIGUOUS in reading.issues:
            return _candidate(merge, start, AppointmentIssue.AMBIGUOUS.value)
        return _confirmed(merge, start)
    if not asked and AppointmentIssue.PAST in parsed.issues and not facts.correction:
        merge.notes.append("past_date_ignored")  # "my last injection was on 3/11"
        return merge
    vague = parsed.time is None or AppointmentIssue.APPROXIMATE_TIME in parsed.issues
    if vague and not (asked or telling or facts.correction):
        merge.notes.append("date_ignored")  # "can I shower that morning?", "abrís el viernes?"
        return merge
    corrects_other = facts.correction and bool(
        facts.sites or facts.negated_sites or facts.medications or facts.negated_medications)
    if vague and not asked and not about_booking and corrects_other:
        # "no wait, it's my neck not my back. brain fog today": the site is corrected, the day
        # named in passing is no appointment
        merge.notes.append("date_ignored")
        return merge
    time = parsed.time or (current.timetz().replace(tzinfo=None) if current else None) or \
        candidate_time(state)
    reading = ParsedAppointment(parsed.date, time, parsed.issues, parsed.alternative,
                                parsed.part_of_day, parsed.matched_text)
    start = reading.start(tz)
    if start is None:
        merge.state = state.update(appointment_candidate=parsed.date.isoformat())
        merge.appointment_issue = "need_time"
        return merge
    for issue in _CONFIRM_ISSUES:
        if issue in parsed.issues:
            if issue is AppointmentIssue.AMBIGUOUS and _next_week_doubt(reading):
                continue
            return _candidate(merge, start, issue.value)
    return _confirmed(merge, start)


_BARE_HOUR = re.compile(r"\b(1[0-2]|[1-9])\b(?!\s*(?:days?|weeks?|hours?|mg|st|nd|rd|th|/|:))")


def _with_bare_hour(parsed: ParsedAppointment, facts: Facts,
                    base: Optional[dt.datetime]) -> ParsedAppointment:
    """"sorry, it's 11 not 10": a bare hour that corrects a known time, read on the same half
    of the day as that time."""
    if base is None or parsed.matched_text:
        return parsed
    found = _BARE_HOUR.search(facts.text_for_hours)
    if found is None:
        return parsed
    hour = int(found.group(1))
    if base.hour >= 12 and hour < 12:
        hour += 12
    return ParsedAppointment(None, dt.time(hour, 0), parsed.issues)


def _candidate_day(state: State) -> Optional[dt.date]:
    value = state.appointment_candidate
    if value and "T" not in value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _candidate(merge: Merge, start: dt.datetime, issue: str) -> Merge:
    merge.state = merge.state.update(appointment_candidate=start.isoformat())
    merge.appointment_issue = issue
    merge.appointment_shown = start
    return merge


def _confirmed(merge: Merge, start: dt.datetime) -> Merge:
    merge.state = merge.state.update(procedure_start=start.isoformat(), appointment_candidate=None)
    merge.appointment_set = True
    merge.appointment_shown = start
    return merge


def clock_times(text: str, languages: tuple[str, ...] = ("en",)) -> list[dt.time]:
    """Every clock time in a message ("9am and 9pm", "a las 9 y a las 21h"), in order."""
    return [clock.value for clock in find_clock_times(text, languages)]


# The latest wall time of each part of the day: a dose "in the evening" is taken as late as
# the evening goes, so the named last dose can only be earlier than the real one (safe).
LATEST_IN_PART = {
    "morning": dt.time(11, 59), "afternoon": dt.time(16, 59), "evening": dt.time(20, 59),
    "night": dt.time(23, 59),
}


def dose_times_from(text: str, languages: tuple[str, ...] = ("en",)) -> tuple[dt.time, ...]:
    """The patient's usual dose times: clock times, else the latest time of each part of the
    day they name ("once a day with dinner" -> 20:59)."""
    times = clock_times(text, languages)
    if times:
        return tuple(sorted(set(times)))
    parts = [LATEST_IN_PART[part.value] for part in dose_time_words(text, languages)
             if part.value in LATEST_IN_PART]
    return tuple(sorted(set(parts)))
