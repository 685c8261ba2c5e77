"""The personal plan in conversation: facts kept from any message, corrections, the answers."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import personal_plan
from actions.blood_thinners import ActionAnswerBloodThinners
from actions.fasting import ActionAnswerFasting
from actions.flow import ActionHandleInform
from actions.plan_dialogue import ActionExtractPlanDetails, ActionShowPlan
from tests.actions.conftest import TrackerFactory, entries, texts

NOW = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.timezone.utc)  # Sun 22 Nov, 10:00 New York
START = "2026-12-02T08:00:00-05:00"  # Wed 2 Dec 08:00, 10 days ahead
# Independent of bot/channels/sms_segments.py: the ASCII characters that GSM 03.38 encodes in
# one septet (its basic table has every ASCII letter, digit and these signs; ` is missing and
# [ \ ] ^ { | } ~ take two septets). A checklist made of them alone is GSM-7 at 1 septet per
# character, so 3 segments (3 x 153 septets with the concatenation header) is 459 characters.
ONE_SEPTET_ASCII = frozenset(string.ascii_letters + string.digits + " \n!\"#$%&'()*+,-./:;<=>?@_")


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(personal_plan, "now_utc", lambda: NOW)


def _site_entities(*mentions: tuple[str, str, int]) -> list[dict]:
    return [{"entity": "procedure_site", "value": v, "start": s, "end": s + len(t)}
            for t, v, s in mentions]


async def test_all_facts_in_one_message_are_kept(make_tracker: TrackerFactory,
                                                 dispatcher: CollectingDispatcher,
                                                 domain: dict) -> None:
    tracker = make_tracker("My rhizotomy is on December 2 at 8am, it's my neck and I take "
                           "Eliquis. When is my last dose?", "ask_blood_thinners",
                           medications=("apixaban",))
    events = await ActionExtractPlanDetails().run(dispatcher, tracker, domain)
    assert SlotSet("procedure_start", START) in events
    assert SlotSet("medications_taken", ["apixaban"]) in events
    assert dispatcher.messages == []


async def test_correction_of_the_day_keeps_the_time(make_tracker: TrackerFactory,
                                                    dispatcher: CollectingDispatcher,
                                                    domain: dict) -> None:
    tracker = make_tracker("actually it's on the 4th", "inform",
                           slots={"procedure_start": START})
    events = await ActionExtractPlanDetails().run(dispatcher, tracker, domain)
    assert SlotSet("procedure_start", "2026-12-04T08:00:00-05:00") in events


async def test_closed_day_is_not_accepted(make_tracker: TrackerFactory,
                                          dispatcher: CollectingDispatcher, domain: dict) -> None:
    tracker = make_tracker("it's on Saturday December 5 at 9am", "inform")
    events = await ActionExtractPlanDetails().run(dispatcher, tracker, domain)
    assert SlotSet("appointment_feedback", "clinic_closed") in events
    assert not any(e.get("name") == "procedure_start" for e in events)


async def test_site_correction(make_tracker: TrackerFactory, dispatcher: CollectingDispatcher,
                               domain: dict) -> None:
    text = "it's my lower back, not my neck"
    tracker = make_tracker(text, "inform")
    tracker.latest_message["entities"] = _site_entities(("lower back", "lumbar", 8),
                                                        ("neck", "cervical", 27))
    events = await ActionExtractPlanDetails().run(dispatcher, tracker, domain)
    assert SlotSet("procedure_site", "lumbar") in events


async def test_added_medicine_is_appended(make_tracker: TrackerFactory,
                                          dispatcher: CollectingDispatcher, domain: dict) -> None:
    tracker = make_tracker("I also take aspirin", "inform", medications=("aspirin",),
                           slots={"medications_taken": ["apixaban"]})
    events = await ActionExtractPlanDetails().run(dispatcher, tracker, domain)
    assert SlotSet("medications_taken", ["apixaban", "aspirin"]) in events


async def test_last_dose_over_several_turns(make_tracker: TrackerFactory,
                                            dispatcher: CollectingDispatcher,
                                            domain: dict) -> None:
    """Acceptance: date, site and drug said earlier; then "when is my last dose?"."""
    tracker = make_tracker("when is my last dose?", "ask_blood_thinners", slots={
        "procedure_start": START, "procedure_site": "cervical", "medications_taken": ["apixaban"]})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [
        ["answer.plan.last_dose", "medication.apixaban"],
        ["answer.plan.fasting_cutoffs"],
        ["answer.blood_thinners.confirm_prescriber"],
    ]
    # 72 h before Wed 2 Dec 08:00 is Sun 29 Nov 08:00: the morning dose that day is the last.
    assert "Sun, Nov 29 (morning)" in texts(dispatcher)[0]
    assert "Tue, Dec 1, 11:30 pm" in texts(dispatcher)[1]  # fatty food: 8 h before 07:30


async def test_too_late_for_warfarin(make_tracker: TrackerFactory,
                                     dispatcher: CollectingDispatcher, domain: dict) -> None:
    """Acceptance: warfarin (5-day hold, cervical), procedure 2 days away."""
    tracker = make_tracker("when do i stop warfarin", "ask_blood_thinners",
                           medications=("warfarin",), slots={
                               "procedure_start": "2026-11-24T09:00:00-05:00",
                               "procedure_site": "cervical"})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher)[0] == ["answer.plan.too_late", "medication.warfarin"]
    assert "today" in texts(dispatcher)[0]


async def test_fasting_with_a_known_appointment(make_tracker: TrackerFactory,
                                                dispatcher: CollectingDispatcher,
                                                domain: dict) -> None:
    tracker = make_tracker("when do i stop eating", "ask_fasting",
                           slots={"procedure_start": START, "procedure_site": "lumbar"})
    await ActionAnswerFasting().run(dispatcher, tracker, domain)
    assert entries(dispatcher)[0] == ["answer.plan.fasting_cutoffs"]
    assert "Wed, Dec 2, 5:30 am" in texts(dispatcher)[0]  # clear liquids: 2 h before 07:30


async def test_checklist_fits_three_sms_segments(make_tracker: TrackerFactory,
                                                 dispatcher: CollectingDispatcher,
                                                 domain: dict) -> None:
    tracker = make_tracker("what's my plan", "ask_plan", slots={
        "procedure_start": START, "procedure_site": "cervical",
        "medications_taken": ["apixaban", "aspirin"]})
    await ActionShowPlan().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 1
    text = texts(dispatcher)[0]
    assert set(text) <= ONE_SEPTET_ASCII, set(text) - ONE_SEPTET_ASCII
    assert len(text) <= 3 * 153, len(text)
    ids = entries(dispatcher)[0]
    for key in ("header", "arrival", "fasting", "dose", "confirm_prescriber", "driver", "bring"):
        assert f"answer.plan.checklist_{key}" in ids


async def test_volunteered_date_is_acknowledged(make_tracker: TrackerFactory,
                                                dispatcher: CollectingDispatcher,
                                                domain: dict) -> None:
    tracker = make_tracker("my procedure is on december 2 at 8am", "inform",
                           slots={"procedure_start": START},
                           events=[{"event": "user", "text": "x"},
                                   {"event": "slot", "name": "procedure_start", "value": START}])
    await ActionHandleInform().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_details_noted"


@pytest.mark.parametrize(("intent", "slots", "expected"), [
    ("affirm", {"appointment_candidate": START, "appointment_feedback": "too_far"},
     {"procedure_start": START, "appointment_candidate": None, "appointment_feedback": None}),
    ("deny", {"appointment_candidate": START, "appointment_feedback": "ambiguous"},
     {"appointment_candidate": None, "appointment_feedback": "ask_again"}),
    ("inform", {}, {"appointment_feedback": "unclear"}),
    ("inform", {"appointment_feedback": "clinic_closed"},
     {"appointment_feedback": "clinic_closed"}),
    ("ask_fasting", {}, {}),  # a topic question is not an answer: the form lets rules answer it
])
async def test_plan_form_date_answers(intent: str, slots: dict, expected: dict,
                                      make_tracker: TrackerFactory,
                                      dispatcher: CollectingDispatcher, domain: dict) -> None:
    from actions.plan_dialogue import ValidatePlanForm

    tracker = make_tracker("x", intent, slots={"requested_slot": "procedure_start", **slots})
    assert await ValidatePlanForm().extract_procedure_start(dispatcher, tracker, domain) \
        == expected


@pytest.mark.parametrize(("text", "intent", "medications", "expected"), [
    ("eliquis", "inform", ("apixaban",), {"medications_answered": True}),
    ("none", "inform", (), {"medications_answered": True, "medications_taken": []}),
    ("nope", "deny", (), {"medications_answered": True, "medications_taken": []}),
    ("blorbazepam", "inform", (), {"medications_answered": True,
                                   "medications_unknown": ["blorbazepam"]}),
    ("how long does it take", "ask_logistics", (), {}),
])
async def test_plan_form_medication_answers(text: str, intent: str,
                                            medications: tuple[str, ...], expected: dict,
                                            make_tracker: TrackerFactory,
                                            dispatcher: CollectingDispatcher,
                                            domain: dict) -> None:
    from actions.plan_dialogue import ValidatePlanForm

    tracker = make_tracker(text, intent, medications=medications,
                           slots={"requested_slot": "medications_answered"})
    assert await ValidatePlanForm().extract_medications_answered(dispatcher, tracker, domain) \
        == expected


@pytest.mark.parametrize(("slots", "response"), [
    ({}, "utter_ask_procedure_start"),
    ({"appointment_feedback": "past"}, "utter_date_past"),
    ({"appointment_feedback": "need_time"}, "utter_ask_procedure_time"),
    ({"appointment_feedback": "unclear"}, "utter_date_not_understood"),
    ({"appointment_feedback": "clinic_closed",
      "appointment_candidate": "2026-12-05T09:00:00-05:00"}, "utter_date_clinic_closed"),
    ({"appointment_feedback": "too_far", "appointment_candidate": START},
     "utter_confirm_procedure_start"),
])
async def test_date_question_adapts_to_the_last_answer(slots: dict, response: str,
                                                       make_tracker: TrackerFactory,
                                                       dispatcher: CollectingDispatcher,
                                                       domain: dict) -> None:
    from actions.plan_dialogue import ActionAskProcedureStart

    await ActionAskProcedureStart().run(dispatcher, make_tracker(slots=slots), domain)
    message = dispatcher.messages[0]
    assert message["response"] == response
    if "appointment_candidate" in slots:
        assert message["date"].startswith(("Sat, Dec 5", "Wed, Dec 2"))


async def test_plan_without_appointment_offers_to_work_it_out(make_tracker: TrackerFactory,
                                                              dispatcher: CollectingDispatcher,
                                                              domain: dict) -> None:
    await ActionShowPlan().run(dispatcher, make_tracker("my plan", "ask_plan"), domain)
    assert entries(dispatcher) == [["answer.fasting.offer_plan"]]
