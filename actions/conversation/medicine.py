"""Medicine answers, general and dated, worded from the one advice function.

Why one module: "do I stop my Eliquis?" (no date known) and the personal plan ("last dose before
Sat 8:00 am") are the same decision (`advise`), worded here from the same result, so they name
the same rule, the same person who decides and the same KB entry. Drafts never steer: a drug the
clinic has not approved gets "please ask the clinic", whatever its class.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from actions.conversation.writer import Piece, Writer
from actions.kb import dto
from actions.kb.snapshot import KbSnapshot
from actions.plan.clock import clinic_zone
from actions.plan.formatting import DateStyle, format_date, format_datetime
from actions.plan.medication_schedule import AdviceKind, DoseAdvice, advise

BLEEDING_CLASSES = frozenset({"anticoagulant", "antiplatelet", "nsaid", "supplement"})
MAX_ECHO = 40  # characters of a patient's own words echoed back (an unknown drug name)

_GENERAL_KEYS = {
    AdviceKind.PRESCRIBER_DECIDES: "blood_thinners.rule_prescriber_decides",
    AdviceKind.USUALLY_CONTINUED: "blood_thinners.rule_continue",
    AdviceKind.CALL_CLINIC: "blood_thinners.rule_call_clinic",
    AdviceKind.TOO_LATE: "blood_thinners.rule_call_clinic",
}
_LIST_KEYS = {  # a rule's line when several drugs share one answer
    AdviceKind.PRESCRIBER_DECIDES: "blood_thinners.list_prescriber_decides",
    AdviceKind.USUALLY_CONTINUED: "blood_thinners.list_continue",
    AdviceKind.CALL_CLINIC: "blood_thinners.list_call_clinic",
    AdviceKind.TOO_LATE: "blood_thinners.list_call_clinic",
}
_PLAN_KEYS = {
    AdviceKind.TOO_LATE: "plan.too_late",
    AdviceKind.PRESCRIBER_DECIDES: "plan.prescriber_decides",
    AdviceKind.USUALLY_CONTINUED: "plan.usually_continued",
    AdviceKind.CALL_CLINIC: "blood_thinners.rule_call_clinic",
}
_CHECKLIST_KEYS = {
    AdviceKind.HOLD: "plan.checklist_dose",
    AdviceKind.TOO_LATE: "plan.checklist_too_late",
    AdviceKind.PRESCRIBER_DECIDES: "plan.checklist_prescriber",
    AdviceKind.USUALLY_CONTINUED: "plan.checklist_continue",
    AdviceKind.CALL_CLINIC: "plan.checklist_call_clinic",
    AdviceKind.NOT_REVIEWED: "plan.checklist_call_clinic",
}


def echo_safe(text: str) -> str:
    """The patient's own words for an unknown drug, trimmed to a short, plain fragment."""
    cleaned = "".join(c for c in text if c.isalnum() or c in " .,'-")
    cleaned = " ".join(cleaned.split())
    return cleaned[:MAX_ECHO].rstrip()


@dataclass(frozen=True)
class Dating:
    """What a dated plan needs besides the drug: when, now, and the patient's dose times."""

    start: dt.datetime
    now: dt.datetime
    dose_times: dict[str, tuple[dt.time, ...]]
    renal_impaired: Optional[bool] = None


def is_bleeding_drug(medication: Optional[dto.Medication]) -> bool:
    """Whether the hold rules answer this drug (approved entries only: drafts never steer)."""
    return medication is not None and medication.approved and (
        medication.drug_class in BLEEDING_CLASSES)


def site_name(writer: Writer, site: Optional[str]) -> str:
    """"your lower back" / "your neck" / "the lower back or the neck", in the patient's words."""
    return writer.piece(f"site.{site}" if site in ("lumbar", "cervical") else "site.any").text


def advice_for(kb: KbSnapshot, name: str, site: str, dating: Optional[Dating] = None
               ) -> tuple[Optional[dto.Medication], Optional[DoseAdvice]]:
    """The catalogue drug for a name and the clinic's advice for it at this site."""
    medication = kb.medication(name)
    procedure = kb.procedure(site)
    if medication is None or procedure is None:
        return medication, None
    if dating is None:
        return medication, advise(medication, procedure.risk_class)
    times = dating.dose_times.get(medication.generic, ())
    return medication, advise(medication, procedure.risk_class, dating.start, dating.now,
                              dose_times=times, renal_impaired=dating.renal_impaired)


def same_rule_everywhere(kb: KbSnapshot, name: str) -> bool:
    """Whether the drug's rule is identical for the lower back and the neck."""
    medication = kb.medication(name)
    if medication is None or not medication.approved:
        return True
    rules = set()
    for site in ("lumbar", "cervical"):
        procedure = kb.procedure(site)
        if procedure is not None:
            rule = medication.rule_for(procedure.risk_class)
            # what the rule says, not which risk class it was filed under
            rules.add(None if rule is None else (rule.action, rule.hold_days, rule.hold_hours,
                                                 rule.restart_hours,
                                                 rule.hold_days_renal_impaired))
    return len(rules) <= 1


def _drug_restart_hours(medication: dto.Medication) -> Optional[int]:
    """The drug's restart time when its rules agree on one (None: none, or they differ)."""
    hours = {rule.restart_hours for rule in medication.rules.values()
             if rule.restart_hours is not None}
    return hours.pop() if len(hours) == 1 else None


def _with_drug(piece: Piece, medication: Optional[dto.Medication]) -> Piece:
    """Add the drug entry's provenance to the text's."""
    if medication is None or medication.provenance is None:
        return piece
    return Piece(piece.text, (*piece.entries, medication.provenance.entry_id),
                 (*piece.sources, medication.provenance.source), piece.translated)


def _once(piece: Piece, name: str) -> Piece:
    """"rivaroxabán (rivaroxabán)": a drug without brand names is named once."""
    doubled = f"{name} ({name})"
    if doubled not in piece.text:
        return piece
    return Piece(piece.text.replace(doubled, name), piece.entries, piece.sources,
                 piece.translated)


def drug_name(writer: Writer, medication: dto.Medication) -> str:
    """The generic name in the patient's language."""
    return medication.name_in(writer.language)


def _values(writer: Writer, medication: dto.Medication, site: Optional[str]) -> dict[str, object]:
    brands = medication.brands_in(writer.kb.clinic.market)
    return {
        "drug": drug_name(writer, medication),
        "brands": ", ".join(brands) or drug_name(writer, medication),
        "site_name": site_name(writer, site),
    }


FULL_FORM, LIST_FORM = "rule", "list"  # a drug's rule on its own, or as one line of several


def rule_text(advice: DoseAdvice, values: dict[str, object], renal_impaired: Optional[bool],
              form: str) -> tuple[str, dict[str, object]]:
    """The text key of a drug's undated rule and its values: `blood_thinners.rule_*` on its
    own, `blood_thinners.list_*` as one line of a several-drug answer (same rule, shorter)."""
    rule = advice.rule
    if advice.kind is AdviceKind.HOLD and rule is not None:
        values = {**values, "restart_hours": rule.restart_hours}
        if rule.hold_days is not None and rule.hold_days_renal_impaired is not None \
                and renal_impaired is not False:
            return f"blood_thinners.{form}_hold_days_renal", {
                **values, "hold_days": rule.hold_days,
                "renal_hold_days": rule.hold_days_renal_impaired}
        if rule.hold_days is not None:
            return f"blood_thinners.{form}_hold_days", {**values, "hold_days": rule.hold_days}
        return f"blood_thinners.{form}_hold_hours", {**values, "hold_hours": rule.hold_hours}
    if form == LIST_FORM:
        return _LIST_KEYS.get(advice.kind, "blood_thinners.list_call_clinic"), values
    return _GENERAL_KEYS[advice.kind], values


class MedicineWording:
    """Pieces for named drugs, in the patient's language, from `advise`."""

    def __init__(self, kb: KbSnapshot, writer: Writer) -> None:
        self.kb = kb
        self.writer = writer

    @property
    def style(self) -> DateStyle:
        """The clinic's date order and clock."""
        return DateStyle(self.kb.clinic.date_order, self.kb.clinic.clock)

    def when(self, moment: dt.datetime, today: dt.date) -> str:
        """A moment in the clinic's zone, words of the patient's language."""
        return format_datetime(moment, self.style, self.writer.locale,
                               time_zone=self.kb.clinic.time_zone, today=today)

    def day(self, value: dt.date, today: dt.date) -> str:
        """A date in the clinic's style."""
        return format_date(value, self.style, self.writer.locale, today=today)

    def unknown(self, name: str) -> Piece:
        """A name the catalogue does not know: never guessed."""
        return self.writer.piece("blood_thinners.not_in_list", extra={"drug_text": echo_safe(name)})

    def not_reviewed(self, medication: dto.Medication) -> Piece:
        """A draft entry: recognised, never advised on."""
        key = ("blood_thinners.not_reviewed" if medication.drug_class in BLEEDING_CLASSES
               else "medications.not_reviewed")
        return self.writer.piece(key, extra={"drug": drug_name(self.writer, medication)})

    def general(self, name: str, site: Optional[str],
                renal_impaired: Optional[bool] = None) -> list[Piece]:
        """The clinic's rule for a drug without dates (site None: identical for both sites);
        a pause that depends on the kidneys names both lengths unless the patient said their
        kidneys are fine ("los riñones bien": the usual length only; how impaired they are is
        for the clinic to judge, so "regular" keeps both)."""
        lookup_site = site or "lumbar"
        medication, advice = advice_for(self.kb, name, lookup_site)
        if medication is None:
            return [self.unknown(name)]
        if advice is None or advice.kind is AdviceKind.NOT_REVIEWED:
            return [self.not_reviewed(medication)]
        values = _values(self.writer, medication, site)
        pieces = [_with_drug(_once(self._rule(advice, values, renal_impaired),
                                   str(values["drug"])), medication)]
        if advice.inr_check:
            pieces.append(self.writer.piece("blood_thinners.inr_step",
                                            extra={"drug": drug_name(self.writer, medication)}))
        return pieces

    def general_together(self, names: tuple[str, ...], site: Optional[str]
                         ) -> Optional[Piece]:
        """One sentence for several drugs with the same undated rule ("For garlic and ginkgo
        before a procedure on your lower back, the clinic will tell you..."), so that two
        supplements fit one answer; None when their rules differ or one needs its own line."""
        lookup_site = site or "lumbar"
        found: list[tuple[dto.Medication, DoseAdvice]] = []
        for name in names:
            medication, advice = advice_for(self.kb, name, lookup_site)
            if medication is None or advice is None or advice.kind not in _GENERAL_KEYS \
                    or advice.inr_check:
                return None
            found.append((medication, advice))
        if len(found) < 2 or len({advice.kind for _, advice in found}) != 1:
            return None
        drugs = self.writer.locale.join([drug_name(self.writer, m) for m, _ in found])
        values: dict[str, object] = {"drug": drugs, "brands": drugs,
                                     "site_name": site_name(self.writer, site)}
        piece = _once(self._rule(found[0][1], values), drugs)
        for medication, _ in found:
            piece = _with_drug(piece, medication)
        return piece

    def general_list(self, names: tuple[str, ...], site: Optional[str],
                     renal_impaired: Optional[bool] = None) -> list[Piece]:
        """Several drugs' undated rules as one line each between a shared opening and one
        shared "who decides" line: "aspirin and Plavix, should I stop both?" in two SMS
        segments, where each drug's full rule text repeats who decides and the phone."""
        lookup_site = site or "lumbar"
        pieces = [self.writer.piece("blood_thinners.list_intro",
                                    extra={"site_name": site_name(self.writer, site)})]
        for name in names:
            medication, advice = advice_for(self.kb, name, lookup_site)
            if medication is None:
                pieces.append(self.writer.piece("blood_thinners.list_not_in_list",
                                                extra={"drug_text": echo_safe(name)}))
                continue
            values = _values(self.writer, medication, site)
            drug = str(values["drug"])
            values["brand"] = next(iter(medication.brands_in(self.kb.clinic.market)), drug)
            if advice is None or advice.kind is AdviceKind.NOT_REVIEWED:
                key = "blood_thinners.list_not_reviewed"
            else:
                key, values = rule_text(advice, values, renal_impaired, LIST_FORM)
            pieces.append(_with_drug(_once(self.writer.piece(key, extra=values), drug),
                                     medication))
            if advice is not None and advice.inr_check:
                pieces.append(self.writer.piece("blood_thinners.list_inr", extra={"drug": drug}))
        pieces.append(self.writer.piece("blood_thinners.list_close"))
        return pieces

    def _rule(self, advice: DoseAdvice, values: dict[str, object],
              renal_impaired: Optional[bool] = None) -> Piece:
        key, values = rule_text(advice, values, renal_impaired, FULL_FORM)
        return self.writer.piece(key, extra=values)

    def hold_text(self, hold: dt.timedelta) -> str:
        """"3 days", "24 hours": a hold as a checklist line names it."""
        if hold.total_seconds() % 86400 == 0:
            return self.writer.piece("plan.hold_days", extra={"days": hold.days}).text
        return self.writer.piece("plan.hold_hours",
                                 extra={"hours": int(hold.total_seconds() // 3600)}).text

    def restart(self, name: str, site: str) -> list[Piece]:
        """When to restart, where the rule says (else the general rule, which names who).

        The restart time is the drug's (the guideline table has one restart column per drug),
        so a site whose rule is "the prescriber decides" still gets it, with the prescriber's
        yes ("y cuándo lo vuelvo a tomar?" after apixaban for the lower back)."""
        medication, advice = advice_for(self.kb, name, site)
        if medication is None:
            return [self.unknown(name)]
        if advice is None or advice.kind is AdviceKind.NOT_REVIEWED:
            return [self.not_reviewed(medication)]
        hours = advice.rule.restart_hours if advice.rule is not None else None
        if hours is None and advice.kind is AdviceKind.PRESCRIBER_DECIDES:
            hours = _drug_restart_hours(medication)
        if hours is not None:
            return [_with_drug(self.writer.piece("blood_thinners.restart_rule", extra={
                "drug": drug_name(self.writer, medication), "restart_hours": hours}),
                medication)]
        return self.general(name, site)

    def inr(self, name: str) -> Piece:
        """INR tests: only for the drugs that need one."""
        medication = self.kb.medication(name)
        key = ("blood_thinners.inr_needed" if medication is not None and medication.inr_check
               else "blood_thinners.inr_not_needed")
        drug = drug_name(self.writer, medication) if medication is not None else echo_safe(name)
        return self.writer.piece(key, extra={"drug": drug})

    def dated(self, name: str, site: str, dating: Dating, *, checklist: bool = False
              ) -> tuple[list[Piece], bool]:
        """The patient's own dates for a drug (or its checklist line); True if it involves
        stopping (the checklist then adds the prescriber line)."""
        medication, advice = advice_for(self.kb, name, site, dating)
        today = dating.now.astimezone(clinic_zone(self.kb.clinic.time_zone)).date()
        if medication is None:
            key = "plan.checklist_call_clinic" if checklist else "blood_thinners.not_in_list"
            extra = {"drug": echo_safe(name), "drug_text": echo_safe(name)}
            return [self.writer.piece(key, extra=extra)], False
        if advice is None or advice.kind is AdviceKind.NOT_REVIEWED:
            if checklist:
                extra = {"drug": drug_name(self.writer, medication)}
                return [self.writer.piece("plan.checklist_call_clinic", extra=extra)], False
            return [self.not_reviewed(medication)], False
        values = _values(self.writer, medication, site)
        if advice.ask_by is not None:
            values["ask_by"] = self.day(advice.ask_by, today)
        if advice.no_dose_from is not None:
            values["limit"] = self.when(advice.no_dose_from, today)
        if advice.hold is not None:
            values["hold"] = self.hold_text(advice.hold)
        if checklist:
            key = _CHECKLIST_KEYS[advice.kind]
            lines = [_with_drug(self.writer.piece(key, extra=values), medication)]
            if advice.inr_check and advice.kind in (AdviceKind.HOLD, AdviceKind.TOO_LATE,
                                                    AdviceKind.PRESCRIBER_DECIDES):
                lines.append(self.writer.piece("plan.checklist_inr", extra={
                    "drug": drug_name(self.writer, medication)}))
            return lines, advice.involves_stopping
        pieces: list[Piece] = []
        if advice.kind is AdviceKind.HOLD:
            if advice.renal_unknown and advice.rule and advice.rule.hold_days_renal_impaired:
                pieces.append(self.writer.piece("plan.kidney_unknown", extra={
                    "drug": drug_name(self.writer, medication), "hold_days": advice.rule.hold_days,
                    "renal_hold_days": advice.rule.hold_days_renal_impaired}))
            if advice.last_dose is not None:
                values["last_dose"] = self.when(advice.last_dose, today)
                pieces.append(self.writer.piece("plan.last_dose_at", extra=values))
            else:
                pieces.append(self.writer.piece("plan.last_dose_before", extra=values))
            if advice.restart_at is not None:  # the last-dose line has the prescriber's caveat
                pieces.append(self.writer.piece("plan.restart_after_hold", extra={
                    "restart": self.when(advice.restart_at, today)}))
        else:
            pieces.append(self.writer.piece(_PLAN_KEYS[advice.kind], extra=values))
        if advice.inr_check and advice.kind in (AdviceKind.HOLD, AdviceKind.PRESCRIBER_DECIDES):
            pieces.append(self.writer.piece("plan.inr_check",
                                            extra={"drug": drug_name(self.writer, medication)}))
        pieces[0] = _with_drug(pieces[0], medication)
        return pieces, advice.involves_stopping
