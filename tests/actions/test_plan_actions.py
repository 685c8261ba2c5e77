"""The personal plan in conversation: facts kept from any message, corrections that replace,
and the patient's own clock times (fasting, arrival, last dose) counted from the appointment.

Expected times are computed here from the KB values (clinic arrival lead, fasting hours, drug
hold) and written in the us_example style (12 h clock, month before day), not read from the
code under test.
"""

from __future__ import annotations

import datetime as dt
import string
from zoneinfo import ZoneInfo

import pytest

from actions import respond
from actions.conversation.turn import State
from actions.kb import schema
from actions.kb.loader import KbContent
from actions.kb.snapshot import KbSnapshot
from tests.actions.conftest import ActionServer, slot_events
from tests.actions.conversation_harness import Conversation

NOW = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.timezone.utc)  # Sun 22 Nov, 10:00 New York
ZONE = ZoneInfo("America/New_York")
START = dt.datetime(2026, 12, 2, 8, 0, tzinfo=ZONE)  # Wed 2 Dec 08:00, 10 days ahead
START_SLOT = START.isoformat()
# The ASCII characters GSM 03.38 encodes in one septet (every ASCII letter and digit and these
# signs; ` is missing, [ \ ] ^ { | } ~ take two). A checklist of these alone is GSM-7, so three
# segments of 153 septets (with the concatenation header) hold 459 characters.
ONE_SEPTET_ASCII = frozenset(string.ascii_letters + string.digits + " \n!\"#$%&'()*+,-./:;<=>?@_")


def shown(moment: dt.datetime) -> str:
    """"Wed, Dec 2, 7:30 am": the US example's 12 h, month-first style."""
    local = moment.astimezone(ZONE)
    hour, half = local.hour % 12 or 12, "am" if local.hour < 12 else "pm"
    return f"{local:%a}, {local:%b} {local.day}, {hour}:{local:%M} {half}"


def arrival(kb_content: KbContent, start: dt.datetime = START) -> dt.datetime:
    return start - dt.timedelta(minutes=kb_content.clinic.arrival_lead_minutes)


def _hold(kb_content: KbContent, generic: str, site: str) -> schema.MedicationRule:
    risk = next(p.risk_class for p in kb_content.procedures if p.site.value == site)
    return next(m for m in kb_content.medications if m.generic == generic).rules[risk]


def chat(kb: KbSnapshot, **state: object) -> Conversation:
    return Conversation(kb, now=NOW, state=State(**state))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ facts
def test_all_facts_in_one_message_are_kept_and_used(kb_snapshot: KbSnapshot,
                                                    kb_content: KbContent) -> None:
    """Acceptance: date, time, site and drug in one message; the last dose is dated."""
    talk = chat(kb_snapshot)
    talk.say("My rhizotomy is on December 2 at 8am, it's my neck and I take Eliquis. When is my "
             "last dose?", "ask_blood_thinners", drugs=(("eliquis", "apixaban"),),
             sites=(("neck", "cervical"),))
    assert talk.state.procedure_start == START_SLOT
    assert talk.state.procedure_site == "cervical"
    assert talk.state.medications_taken == ("apixaban",)
    rule = _hold(kb_content, "apixaban", "cervical")
    assert rule.hold_days is not None and rule.restart_hours is not None
    assert talk.entries[:2] == ["text.en.plan.last_dose_before", "medication.apixaban"]
    assert shown(START - dt.timedelta(days=rule.hold_days)) in talk.reply  # Sun, Nov 29
    assert shown(START + dt.timedelta(hours=rule.restart_hours)) in talk.reply


def test_a_corrected_day_keeps_the_time_and_re_answers(kb_snapshot: KbSnapshot,
                                                       kb_content: KbContent) -> None:
    talk = chat(kb_snapshot, procedure_start=START_SLOT, procedure_site="lumbar")
    talk.say("what time should i arrive", "ask_logistics")
    assert shown(arrival(kb_content)) in talk.reply
    talk.say("actually it's on the 4th", "inform")
    moved = START + dt.timedelta(days=2)
    assert talk.state.procedure_start == moved.isoformat()
    assert talk.entries == ["text.en.plan.arrival_at"]
    assert shown(arrival(kb_content, moved)) in talk.reply and shown(moved) in talk.reply


def test_a_corrected_time_keeps_the_day(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot, procedure_start=START_SLOT, procedure_site="lumbar")
    talk.say("sorry, it's actually at 10am", "inform")
    assert talk.state.procedure_start == START.replace(hour=10).isoformat()


def test_a_site_correction_replaces_the_site(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot, procedure_site="cervical")
    talk.say("it's my lower back, not my neck", "inform",
             sites=(("lower back", "lumbar"), ("neck", "cervical")))
    assert talk.state.procedure_site == "lumbar"


def test_an_added_medicine_is_appended(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot, medications_taken=("apixaban",), medications_answered=True)
    talk.say("I also take aspirin", "inform", drugs=(("aspirin", "aspirin"),))
    assert talk.state.medications_taken == ("apixaban", "aspirin")


# ------------------------------------------------------------------------------ the dates asked
def test_a_closed_day_is_not_accepted(kb_snapshot: KbSnapshot, kb_content: KbContent) -> None:
    saturday = dt.datetime(2026, 12, 5, 9, 0, tzinfo=ZONE)
    assert kb_content.clinic.opening_hours.saturday == "closed"
    talk = chat(kb_snapshot)
    talk.say("my procedure is on December 5 at 9am", "inform")
    assert talk.state.procedure_start is None
    assert talk.entries == ["text.en.date.clinic_closed"] and shown(saturday) in talk.reply


def test_a_date_without_a_time_asks_the_time(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot)
    talk.say("my appointment is on december 2", "inform")
    assert talk.entries == ["text.en.question.appointment_time"]
    assert talk.state.procedure_start is None
    talk.say("8am", "inform")
    assert talk.state.procedure_start == START_SLOT


def test_a_past_date_given_for_the_plan_is_refused(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot)
    talk.say("what's my plan?", "ask_plan")
    talk.say("november 10 at 9am", "inform")
    assert talk.state.procedure_start is None
    assert talk.entries == ["text.en.date.past"]


def test_a_far_ahead_date_is_confirmed_before_it_is_used(kb_snapshot: KbSnapshot) -> None:
    far = dt.datetime(2027, 12, 10, 9, 0, tzinfo=ZONE)
    talk = chat(kb_snapshot)
    talk.say("my procedure is on december 10 2027 at 9am", "inform")
    assert talk.entries == ["text.en.date.too_far"] and shown(far).split(",")[0] in talk.reply
    assert talk.state.procedure_start is None
    talk.say("yes", "affirm")
    assert talk.state.procedure_start == far.isoformat()


def test_no_to_the_date_check_asks_for_the_date_again(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot)
    talk.say("my procedure is on december 10 2027 at 9am", "inform")
    talk.say("no", "deny")
    assert talk.entries == ["text.en.question.appointment"]
    assert talk.state.procedure_start is None and talk.state.appointment_candidate is None
    talk.say("december 2 at 8am", "inform")
    assert talk.state.procedure_start == START_SLOT


def test_no_with_the_right_date_is_the_answer(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot)
    talk.say("my procedure is on december 10 2027 at 9am", "inform")
    talk.say("no, it's on december 2 at 8am", "deny")
    assert talk.state.procedure_start == START_SLOT
    assert talk.entries != ["text.en.question.appointment"]
    assert talk.state.pending is None or talk.state.pending.ask != "appointment"


# ------------------------------------------------------------------------------ dated answers
def test_fasting_times_count_back_from_the_arrival(kb_snapshot: KbSnapshot,
                                                   kb_content: KbContent) -> None:
    talk = chat(kb_snapshot, procedure_start=START_SLOT, procedure_site="lumbar")
    talk.say("when do i stop eating", "ask_fasting")
    assert talk.entries == ["text.en.plan.fasting_cutoffs"]
    fasting, come = kb_content.fasting, arrival(kb_content)
    for hours in (fasting.fatty_meal_hours, fasting.light_meal_hours,
                  fasting.clear_liquids_hours):
        assert shown(come - dt.timedelta(hours=hours)) in talk.reply, talk.reply
    assert shown(come) in talk.reply


def test_a_follow_up_about_water_gets_the_clear_liquids_time_only(
        kb_snapshot: KbSnapshot, kb_content: KbContent) -> None:
    talk = chat(kb_snapshot, procedure_start=START_SLOT, procedure_site="lumbar")
    talk.say("when do i stop eating", "ask_fasting")
    talk.say("and water?", "ask_fasting", confidence=0.4)
    fasting, come = kb_content.fasting, arrival(kb_content)
    assert talk.entries == ["text.en.plan.clear_liquids_at"]
    assert shown(come - dt.timedelta(hours=fasting.clear_liquids_hours)) in talk.reply
    assert shown(come - dt.timedelta(hours=fasting.fatty_meal_hours)) not in talk.reply


def test_arrival_and_start_with_the_clinic_address(kb_snapshot: KbSnapshot,
                                                   kb_content: KbContent) -> None:
    talk = chat(kb_snapshot, procedure_start=START_SLOT)  # the site is not needed for this
    talk.say("when should i get there", "ask_logistics")
    assert talk.entries == ["text.en.plan.arrival_at"]
    assert shown(arrival(kb_content)) in talk.reply and shown(START) in talk.reply
    assert kb_content.clinic.address in talk.reply


def test_no_fast_without_sedation_when_the_clinic_says_so(kb_snapshot: KbSnapshot,
                                                          kb_content: KbContent) -> None:
    assert kb_content.fasting.applies_without_sedation is False
    talk = chat(kb_snapshot, procedure_start=START_SLOT, procedure_site="lumbar",
                sedation_planned=False)
    talk.say("when do i stop eating", "ask_fasting")
    assert talk.entries == ["text.en.plan.no_fasting"]


def test_too_late_to_pause_warfarin(kb_snapshot: KbSnapshot, kb_content: KbContent) -> None:
    """Acceptance: warfarin (a 5-day hold at the neck), the procedure 2 days away."""
    soon = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZONE)
    rule = _hold(kb_content, "warfarin", "cervical")
    assert rule.hold_days is not None and soon - NOW < dt.timedelta(days=rule.hold_days)
    talk = chat(kb_snapshot, procedure_start=soon.isoformat(), procedure_site="cervical")
    talk.say("when do i stop warfarin", "ask_blood_thinners", drugs=(("warfarin", "warfarin"),))
    assert talk.entries[:2] == ["text.en.plan.too_late", "medication.warfarin"]
    assert "today" in talk.reply and kb_content.clinic.phone in talk.reply


# ------------------------------------------------------------------------------ the checklist
def test_the_plan_asks_what_it_needs_then_gives_the_checklist(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot)
    talk.say("what's my plan?", "ask_plan")
    assert talk.entries == ["text.en.question.appointment"]
    talk.say("december 2 at 8am", "inform")
    assert talk.entries == ["text.en.question.site"]
    talk.say("lower back", "inform", sites=(("lower back", "lumbar"),))
    # the day, arrival and fasting times need no medicines: they come before the question
    assert talk.entries == ["text.en.plan.checklist_header", "text.en.plan.checklist_arrival",
                            "text.en.plan.checklist_fasting", "text.en.question.medication_short"]
    assert talk.state.pending is not None and talk.state.pending.ask == "medication"
    assert "7:30 am" in talk.reply  # arrival for an 8 am procedure
    talk.say("eliquis", "inform", drugs=(("eliquis", "apixaban"),))
    assert talk.entries[0] == "text.en.plan.checklist_header"
    assert "medication.apixaban" in talk.entries and talk.state.pending is None


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_checklist_is_complete_and_in_the_patients_language(kb_snapshot: KbSnapshot,
                                                                language: str) -> None:
    talk = Conversation(kb_snapshot, language=language, now=NOW, state=State(
        procedure_start=START_SLOT, procedure_site="cervical",
        medications_taken=("apixaban", "aspirin"), medications_answered=True))
    talk.say("what's my plan?", "ask_plan")
    assert talk.last is not None and len(talk.last.messages) == 1
    ids = talk.entries
    for line in ("header", "arrival", "fasting", "dose", "prescriber", "confirm_prescriber",
                 "driver", "bring"):
        assert f"text.{language}.plan.checklist_{line}" in ids, line
    assert {"medication.apixaban", "medication.aspirin"} <= set(ids)
    assert all(e.startswith((f"text.{language}.", "medication.")) for e in ids)


def test_the_checklist_fits_three_sms_segments(kb_snapshot: KbSnapshot) -> None:
    talk = chat(kb_snapshot, procedure_start=START_SLOT, procedure_site="cervical",
                medications_taken=("apixaban", "aspirin"), medications_answered=True)
    talk.say("what's my plan?", "ask_plan")
    text = talk.reply
    assert set(text) <= ONE_SEPTET_ASCII, set(text) - ONE_SEPTET_ASCII
    assert len(text) <= 3 * 153, len(text)


async def test_the_plan_through_the_action_server(action_server: ActionServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(respond, "now_utc", lambda: NOW)
    result = await action_server("action_respond", "what's my plan", "ask_plan", slots={
        "procedure_start": START_SLOT, "procedure_site": "lumbar",
        "medications_taken": ["apixaban"], "medications_answered": True})
    [message] = result["responses"]
    assert message["kb_entries"][0] == "text.en.plan.checklist_header"
    assert shown(START) in message["text"]
    assert slot_events(result["events"]) == {"last_topic": "plan", "last_key": "plan.main"}


async def test_an_appointment_told_to_the_action_server_is_stored(
        action_server: ActionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(respond, "now_utc", lambda: NOW)
    result = await action_server("action_respond", "my procedure is on december 2 at 8am",
                                 "inform")
    assert slot_events(result["events"])["procedure_start"] == START_SLOT
    assert result["responses"][0]["kb_entries"] == ["text.en.date.noted"]
