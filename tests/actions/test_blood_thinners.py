"""Blood thinners: the clinic's rule per drug and risk class, never a guess."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import echo_safe
from actions.blood_thinners import (
    NONE_TAKEN,
    ActionAnswerBloodThinners,
    ActionAskMedicationReply,
    ValidateMedicationForm,
)
from actions.flow import ActionResumeTopic
from tests.actions.conftest import TrackerFactory, entries, texts

RESET = [SlotSet("pending_topic", None), SlotSet("pending_medications", None),
         SlotSet("medication_reply", None), SlotSet("flow_step", None)]


async def test_xarelto_neck_uses_rivaroxaban_cervical_rule(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    """Acceptance: "I take Xarelto, I'm having the neck one, when do I stop?"."""
    tracker = make_tracker("I take Xarelto, I'm having the neck one, when do I stop?",
                           "ask_blood_thinners", medications=("rivaroxaban",),
                           slots={"procedure_site": "cervical"})
    events = await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert events == RESET
    assert entries(dispatcher) == [
        ["answer.blood_thinners.rule_hold_days", "medication.rivaroxaban"],
        ["answer.blood_thinners.confirm_prescriber"],
    ]
    rule_text = texts(dispatcher)[0]
    assert "rivaroxaban" in rule_text.lower() and "3 days" in rule_text
    assert "neck" in rule_text.lower()


async def test_lumbar_aspirin_is_usually_continued(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("do i stop my baby aspirin", "ask_blood_thinners",
                           medications=("aspirin",), slots={"procedure_site": "lumbar"})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [["answer.blood_thinners.rule_continue", "medication.aspirin"]]


async def test_lumbar_apixaban_goes_to_the_prescriber(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("eliquis?", "ask_blood_thinners", medications=("apixaban",),
                           slots={"procedure_site": "lumbar"})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [
        ["answer.blood_thinners.rule_prescriber_decides", "medication.apixaban"],
        ["answer.blood_thinners.confirm_prescriber"],
    ]


async def test_several_drugs_are_all_answered(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("I take warfarin, clopidogrel and fish oil", "ask_blood_thinners",
                           medications=("warfarin", "clopidogrel", "fish oil"),
                           slots={"procedure_site": "cervical"})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    ids = entries(dispatcher)
    assert ids[0][1] == "medication.warfarin"
    assert ids[1][1] == "medication.clopidogrel"
    assert ids[2] == ["answer.blood_thinners.not_reviewed"]  # fish oil is a draft entry
    assert ids[3] == ["answer.blood_thinners.confirm_prescriber"]


async def test_unknown_drug_is_never_guessed(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("blorbazepam", "inform",
                           slots={"procedure_site": "lumbar", "medication_reply": "blorbazepam"})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [["answer.blood_thinners.not_in_list"]]
    assert "blorbazepam" in texts(dispatcher)[0]


async def test_class_level_question_asks_which_medicine(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("do i stop my blood thinner", "ask_blood_thinners")
    events = await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [["answer.blood_thinners.general"]]
    assert events == [SlotSet("pending_topic", "blood_thinners"),
                      SlotSet("flow_step", "ask_medication")]


async def test_named_drug_without_site_asks_the_site(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("when do i stop eliquis", "ask_blood_thinners",
                           medications=("apixaban",))
    events = await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []
    assert events == [SlotSet("pending_topic", "blood_thinners"),
                      SlotSet("pending_medications", ["apixaban"]),
                      SlotSet("medication_reply", None), SlotSet("flow_step", "ask_site")]


async def test_resume_after_site_answers_pending_drugs(
    make_tracker: TrackerFactory, dispatcher: CollectingDispatcher, domain: dict
) -> None:
    tracker = make_tracker("neck", "inform", slots={
        "procedure_site": "cervical", "pending_topic": "blood_thinners",
        "pending_medications": ["apixaban"], "flow_step": "ask_site"})
    events = await ActionResumeTopic().run(dispatcher, tracker, domain)
    assert entries(dispatcher)[0] == ["answer.blood_thinners.rule_hold_days",
                                      "medication.apixaban"]
    assert events == RESET


async def test_none_taken(make_tracker: TrackerFactory, dispatcher: CollectingDispatcher,
                          domain: dict) -> None:
    tracker = make_tracker("none", "inform", slots={"procedure_site": "lumbar",
                                                    "medication_reply": NONE_TAKEN})
    await ActionAnswerBloodThinners().run(dispatcher, tracker, domain)
    assert entries(dispatcher) == [["answer.blood_thinners.none_taken"]]


async def test_form_question_comes_from_the_kb(make_tracker: TrackerFactory,
                                               dispatcher: CollectingDispatcher,
                                               domain: dict) -> None:
    await ActionAskMedicationReply().run(dispatcher, make_tracker(), domain)
    assert entries(dispatcher) == [["answer.blood_thinners.ask_which"]]


@pytest.mark.parametrize(("text", "intent", "medications", "expected"), [
    ("eliquis and aspirin", "inform", ("apixaban", "aspirin"),
     {"medication_reply": "apixaban, aspirin", "pending_medications": ["apixaban", "aspirin"]}),
    ("none", "inform", (), {"medication_reply": NONE_TAKEN, "pending_medications": None}),
    ("no", "deny", (), {"medication_reply": NONE_TAKEN, "pending_medications": None}),
    ("i dont take any", "inform", (), {"medication_reply": NONE_TAKEN,
                                       "pending_medications": None}),
    ("blorbazepam", "inform", (), {"medication_reply": "blorbazepam"}),
])
async def test_medication_form_validation(text: str, intent: str, medications: tuple[str, ...],
                                          expected: dict, make_tracker: TrackerFactory,
                                          dispatcher: CollectingDispatcher,
                                          domain: dict) -> None:
    tracker = make_tracker(text, intent, medications=medications)
    result = await ValidateMedicationForm().validate_medication_reply(text, dispatcher, tracker,
                                                                      domain)
    assert result == expected


def test_echo_is_plain_and_short() -> None:
    assert echo_safe("<img src=x onerror=alert(1)>") == "img srcx onerroralert1"
    assert len(echo_safe("x" * 500)) == 40
    assert echo_safe("💊💊") == "that medicine"
